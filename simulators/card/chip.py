"""A simulated eMRTD chip as pure logic: `Chip(...).process(command_apdu) -> response_apdu`.

No I/O: the vpcd transport (simulators/card/vpcd.py), the in-process tests and the benchmark all drive
this same object. It reuses the reader's own secure messaging and BAC/PACE chip-side steps
(edge.document.sm / bac / pace), so both ends agree by construction and the ICAO vectors cover both.

    chip = Chip(
        files={"COM": ef_com, "SOD": ef_sod, "DG1": dg1, "DG2": dg2, "DG15": dg15},
        mrz_information=mrz.key_information(),   # BAC key and PACE password "MRZ"
        can="123456",                             # PACE password "CAN" (optional)
        aa_private_key=rsa_or_ec_private_key,     # Active Authentication (None: chip has no AA)
        ca_private_key=ec_private_key,            # Chip Authentication (DG14 must carry its public key)
        pace=True, pace_curve="brainpoolP256r1", pace_cipher="AES-128",
    )
    response = chip.process(apdu_bytes)
    chip.reset()   # power off / on: forget selection, session and pending challenges
    Chip(..., rng_seed=b"bench")   # replayable: every reset starts the same random sequence (benchmarks only)

`files` keys: "COM", "SOD", "DG1".."DG16", "CardAccess", "ATR/INFO", or file identifiers (0x011E ...).
EF.CardAccess and EF.ATR/INFO live in the master file, everything else in the eMRTD application.
When `pace` is true and no "CardAccess" is given, one announcing the configured PACE parameters is built;
pass `card_access=False` to leave it out (readers must tolerate that). The chip runs PACE with whatever
its EF.CardAccess announces (ECDH generic mapping, or chip authentication mapping when it lists a CAM
protocol: that needs `ca_private_key` on the PACE curve), falling back to `pace_curve` / `pace_cipher`.

Behaviour a reader must cope with: reads in the application before access control answer 6982; an SM
command with a wrong MAC answers 6988 (plain) and ends the session; a plain command during a session ends
it too; responses carry DO87/DO99/DO8E. `extended_length=False` refuses extended APDUs (6700) and caps
responses at 256 bytes; EF.ATR/INFO is published only when extended length is on.
Behaviour switches for forged documents are the factory's business (it changes the files or the AA key);
transport faults (truncated response, card pulled, slow chip) belong to the transport.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

from edge.document import apdu as A
from edge.document import bac, tlv
from edge.document.apdu import CommandAPDU
from edge.document.errors import AccessControlError, DocumentError, MalformedData, SecureMessagingError
from edge.document.sm import SecureMessaging

MF_FILES = (A.EF_CARD_ACCESS, A.EF_ATR_INFO)

_NAMES = {"COM": A.EF_COM, "SOD": A.EF_SOD, "CARDACCESS": A.EF_CARD_ACCESS, "ATR/INFO": A.EF_ATR_INFO}
_SFI = {0x1E: A.EF_COM, 0x1D: A.EF_SOD, 0x1C: A.EF_CARD_ACCESS, **{n: A.dg_fid(n) for n in range(1, 17)}}


def file_id(key: int | str) -> int:
    if isinstance(key, int):
        return key
    name = key.upper()
    if name in _NAMES:
        return _NAMES[name]
    if name.startswith("DG") and name[2:].isdigit() and 1 <= int(name[2:]) <= 16:
        return A.dg_fid(int(name[2:]))
    raise ValueError(f"unknown file name {key!r}")


def atr_info(max_length: int = 65535) -> bytes:
    """EF.ATR/INFO announcing extended length (ISO 7816-4 DO7F66: extended length information)."""
    sizes = tlv.encode(0x02, max_length.to_bytes(2, "big")) * 2
    return tlv.encode(0x7F66, sizes)


class _Status(Exception):
    def __init__(self, sw: int) -> None:
        self.sw = sw


class Chip:
    def __init__(
        self,
        files: dict[int | str, bytes],
        *,
        mrz_information: str | None = None,
        can: str | None = None,
        aa_private_key=None,
        ca_private_key=None,
        bac: bool = True,
        pace: bool = True,
        pace_curve: str = "brainpoolP256r1",
        pace_cipher: str = "AES-128",
        card_access: bool = True,
        extended_length: bool = True,
        rng: Callable[[int], bytes] = os.urandom,
        rng_seed: bytes | None = None,
    ) -> None:
        self.files: dict[int, bytes] = {file_id(k): bytes(v) for k, v in files.items()}
        self.mrz_information = mrz_information
        self.can = can
        self.aa_private_key = aa_private_key
        self.ca_private_key = ca_private_key
        self.bac_enabled = bac and mrz_information is not None
        self.pace_enabled = pace
        self.pace_curve = pace_curve
        self.pace_cipher = pace_cipher
        self.extended_length = extended_length
        self.rng = rng
        self.rng_seed = rng_seed
        if pace and card_access and A.EF_CARD_ACCESS not in self.files:
            from edge.document.pace import card_access_for

            self.files[A.EF_CARD_ACCESS] = card_access_for(pace_curve, pace_cipher)
        if not card_access:
            self.files.pop(A.EF_CARD_ACCESS, None)
        if extended_length and A.EF_ATR_INFO not in self.files:
            self.files[A.EF_ATR_INFO] = atr_info()
        self.apdu_count = 0
        self.reset()

    # --- state ---------------------------------------------------------------------------------------------

    def reset(self) -> None:
        if self.rng_seed is not None:
            # A replayable chip (benchmarks): every power-up draws the same "random" numbers, so a recorded
            # session's protected commands verify again when they are sent once more.
            self.rng = random.Random(self.rng_seed).randbytes
        self.in_application = False
        self.current: int | None = None
        self.sm: SecureMessaging | None = None
        self.bac_chip: bac.BACChip | None = None
        self.pace_chip = None
        self.ca_suite = None

    @property
    def authenticated(self) -> bool:
        return self.sm is not None

    def process(self, command: bytes) -> bytes:
        """One command APDU in, one response APDU (data + SW1 SW2) out. Never raises."""
        self.apdu_count += 1
        command = bytes(command)
        if len(command) >= 4 and command[0] & 0x0C == 0x0C:
            return self._process_protected(command)
        if self.sm is not None:
            self.sm = None  # a plain command ends the secure-messaging session (ICAO 9303-11 §9.8.4)
        try:
            parsed = CommandAPDU.decode(command)
        except MalformedData:
            return A.SW_WRONG_LENGTH.to_bytes(2, "big")
        data, sw = self._dispatch_safe(parsed, protected=False)
        return data + sw.to_bytes(2, "big")

    def _process_protected(self, command: bytes) -> bytes:
        if self.sm is None:
            return A.SW_SM_MISSING.to_bytes(2, "big")
        try:
            plain = self.sm.unprotect_command(command)
        except SecureMessagingError:
            self.sm = None
            return A.SW_SM_INCORRECT.to_bytes(2, "big")
        sm = self.sm  # a command that sets up new keys (Chip Authentication) still answers under the old ones
        data, sw = self._dispatch_safe(plain, protected=True)
        return sm.protect_response(data, sw)

    def _dispatch_safe(self, command: CommandAPDU, protected: bool) -> tuple[bytes, int]:
        if command.extended and not self.extended_length:
            return b"", A.SW_WRONG_LENGTH
        try:
            return self._dispatch(command, protected)
        except _Status as status:
            return b"", status.sw
        except (AccessControlError, DocumentError):
            return b"", A.SW_SECURITY_NOT_SATISFIED

    def _dispatch(self, c: CommandAPDU, protected: bool) -> tuple[bytes, int]:
        if c.cla & 0x80:
            raise _Status(A.SW_CLA_NOT_SUPPORTED)
        handler = {
            0xA4: self._select,
            0xB0: self._read_binary,
            0xB1: self._read_binary_odd,
            0x84: self._get_challenge,
            0x82: self._external_authenticate,
            0x22: self._manage_security_environment,
            0x86: self._general_authenticate,
            0x88: self._internal_authenticate,
        }.get(c.ins)
        if handler is None:
            raise _Status(A.SW_INS_NOT_SUPPORTED)
        return handler(c, protected)

    # --- files --------------------------------------------------------------------------------------------

    def _select(self, c: CommandAPDU, protected: bool) -> tuple[bytes, int]:
        if c.p1 == 0x04:
            if c.data != A.EMRTD_AID:
                raise _Status(A.SW_FILE_NOT_FOUND)
            self.in_application, self.current = True, None
            return b"", A.SW_OK
        if c.p1 in (0x00, 0x02) and len(c.data) == 2:
            fid = int.from_bytes(c.data, "big")
            if fid == 0x3F00 and c.p1 == 0x00:
                self.in_application, self.current = False, None
                return b"", A.SW_OK
            if fid in MF_FILES:
                if fid not in self.files:
                    raise _Status(A.SW_FILE_NOT_FOUND)
                self.current = fid
                return b"", A.SW_OK
            if not self.in_application or fid not in self.files:
                raise _Status(A.SW_FILE_NOT_FOUND)
            self._require_access(protected)
            self.current = fid
            return b"", A.SW_OK
        raise _Status(A.SW_INCORRECT_P1P2)

    def _require_access(self, protected: bool) -> None:
        if not protected or self.sm is None:
            raise _Status(A.SW_SECURITY_NOT_SATISFIED)

    def _readable(self, fid: int | None, protected: bool) -> bytes:
        if fid is None:
            raise _Status(A.SW_COMMAND_NOT_ALLOWED)
        if fid not in MF_FILES:
            self._require_access(protected)
        return self.files[fid]

    def _slice(self, content: bytes, offset: int, ne: int | None) -> tuple[bytes, int]:
        if offset > len(content):
            raise _Status(A.SW_WRONG_P1P2)
        limit = 65536 if self.extended_length else 256
        length = min(ne or 256, limit)
        chunk = content[offset : offset + length]
        return chunk, (A.SW_OK if len(chunk) == length or ne is None else A.SW_END_OF_FILE_WARNING)

    def _read_binary(self, c: CommandAPDU, protected: bool) -> tuple[bytes, int]:
        if c.p1 & 0x80:  # short EF identifier in P1, offset in P2
            sfi = c.p1 & 0x1F
            if sfi not in _SFI or _SFI[sfi] not in self.files:
                raise _Status(A.SW_FILE_NOT_FOUND)
            fid = _SFI[sfi]
            content = self._readable(fid, protected)
            self.current = fid
            offset = c.p2
        else:
            content = self._readable(self.current, protected)
            offset = (c.p1 << 8) | c.p2
        return self._slice(content, offset, c.ne)

    def _read_binary_odd(self, c: CommandAPDU, protected: bool) -> tuple[bytes, int]:
        content = self._readable(self.current, protected)
        try:
            offset_bytes = tlv.expect(c.data, 0x54)
        except MalformedData as exc:
            raise _Status(A.SW_WRONG_DATA) from exc
        if not 1 <= len(offset_bytes) <= 3:
            raise _Status(A.SW_WRONG_DATA)
        offset = int.from_bytes(offset_bytes, "big")
        # Room for the DO53 header (tag, up to 4 length bytes) inside Ne.
        chunk, sw = self._slice(content, offset, max(1, (c.ne or 256) - 4))
        return tlv.encode(0x53, chunk), sw

    # --- BAC ----------------------------------------------------------------------------------------------

    def _get_challenge(self, c: CommandAPDU, protected: bool) -> tuple[bytes, int]:
        if not self.bac_enabled:
            raise _Status(A.SW_INS_NOT_SUPPORTED)
        if c.ne != 8:
            raise _Status(A.SW_WRONG_LENGTH)
        assert self.mrz_information is not None
        rnd_icc = self.rng(8)
        self.bac_chip = bac.BACChip(bac.derive_keys(self.mrz_information), rnd_icc, self.rng(16))
        return rnd_icc, A.SW_OK

    def _external_authenticate(self, c: CommandAPDU, protected: bool) -> tuple[bytes, int]:
        if self.bac_chip is None:
            raise _Status(A.SW_CONDITIONS_NOT_SATISFIED)
        chip, self.bac_chip = self.bac_chip, None
        try:
            response, session = chip.respond(c.data)
        except AccessControlError as exc:
            raise _Status(A.SW_SECURITY_NOT_SATISFIED) from exc
        self.sm = session
        return response, A.SW_OK

    # --- PACE ---------------------------------------------------------------------------------------------

    def _manage_security_environment(self, c: CommandAPDU, protected: bool) -> tuple[bytes, int]:
        if (c.p1, c.p2) in ((0x41, 0xA4), (0x41, 0xA6)):
            return self._chip_authentication_set(c, protected)
        if (c.p1, c.p2) != (0xC1, 0xA4) or not self.pace_enabled:
            raise _Status(A.SW_INCORRECT_P1P2 if self.pace_enabled else A.SW_FUNCTION_NOT_SUPPORTED)
        from edge.document import pace

        try:
            self.pace_chip = pace.PACEChip.from_set_at(
                c.data,
                offers=self._pace_offers(),
                mrz_information=self.mrz_information,
                can=self.can,
                rng=self.rng,
                static_private_key=self.ca_private_key,
            )
        except pace.PACEReferenceError as exc:
            raise _Status(A.SW_REFERENCE_NOT_FOUND) from exc
        except DocumentError as exc:
            raise _Status(A.SW_WRONG_DATA) from exc
        return b"", A.SW_OK

    def _pace_offers(self) -> list:
        """What EF.CardAccess announces (when it parses), else the configured curve and cipher."""
        from edge.document import pace
        from edge.document.securityinfo import parse_security_infos

        offers = []
        if A.EF_CARD_ACCESS in self.files:
            try:
                infos = parse_security_infos(self.files[A.EF_CARD_ACCESS])
            except MalformedData:
                infos = []
            offers = [pace.PACEParameters(i.protocol, i.parameter_id) for i in infos
                      if isinstance(i, pace.PACEInfo) and i.parameter_id is not None]
            offers = [o for o in offers if o.supported]
        return offers or [pace.PACEParameters.named(self.pace_curve, self.pace_cipher)]

    def _general_authenticate(self, c: CommandAPDU, protected: bool) -> tuple[bytes, int]:
        if self.ca_suite is not None and protected:
            return self._chip_authentication_finish(c)
        if self.pace_chip is None:
            raise _Status(A.SW_CONDITIONS_NOT_SATISFIED)
        try:
            response, session = self.pace_chip.step(c.data)
        except DocumentError as exc:
            self.pace_chip = None
            raise _Status(A.SW_SECURITY_NOT_SATISFIED) from exc
        if session is not None:
            self.pace_chip = None
            self.sm = session
        return response, A.SW_OK

    # --- Chip Authentication (ECDH) ---------------------------------------------------------------------------

    def _chip_authentication_set(self, c: CommandAPDU, protected: bool) -> tuple[bytes, int]:
        from edge.document.authentication import _CA_SUITES, chip_authentication_chip_session
        from edge.document.securityinfo import ID_CA, decode_oid

        self._require_access(protected)
        if self.ca_private_key is None:
            raise _Status(A.SW_FUNCTION_NOT_SUPPORTED)
        try:
            items = {item.tag: item.value for item in tlv.decode_all(c.data)}
            if c.p2 == 0xA6:  # MSE:Set KAT (3DES): the ephemeral key comes right away
                self.sm = chip_authentication_chip_session(self.ca_private_key, _CA_SUITES[1], items[0x91])
                return b"", A.SW_OK
            protocol = decode_oid(items[0x80])
        except (KeyError, MalformedData, AccessControlError) as exc:
            raise _Status(A.SW_WRONG_DATA) from exc
        code = protocol.rsplit(".", 1)[1]
        if not protocol.startswith(ID_CA + ".2.") or not code.isdigit() or int(code) not in _CA_SUITES:
            raise _Status(A.SW_REFERENCE_NOT_FOUND)
        self.ca_suite = _CA_SUITES[int(code)]
        return b"", A.SW_OK

    def _chip_authentication_finish(self, c: CommandAPDU) -> tuple[bytes, int]:
        from edge.document.authentication import chip_authentication_chip_session

        suite, self.ca_suite = self.ca_suite, None
        try:
            point = tlv.expect(tlv.expect(c.data, 0x7C), 0x80)
            self.sm = chip_authentication_chip_session(self.ca_private_key, suite, point)
        except (MalformedData, AccessControlError) as exc:
            raise _Status(A.SW_WRONG_DATA) from exc
        return b"\x7c\x00", A.SW_OK

    # --- Active Authentication ------------------------------------------------------------------------------

    def _internal_authenticate(self, c: CommandAPDU, protected: bool) -> tuple[bytes, int]:
        self._require_access(protected)
        if self.aa_private_key is None:
            raise _Status(A.SW_INS_NOT_SUPPORTED)
        if len(c.data) != 8:
            raise _Status(A.SW_WRONG_DATA)
        from edge.document.authentication import aa_sign

        return aa_sign(self.aa_private_key, c.data, self.rng), A.SW_OK
