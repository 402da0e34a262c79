"""The reading procedure, sans-pyscard: `read_document(transmit, access_key, ...) -> DocumentResult`.

`transmit(apdu: bytes) -> bytes` sends one command APDU and returns data + SW1 SW2; the adapter (pyscard,
or a simulated chip in tests) raises edge.document.errors.TransportError when the card goes away.
Nothing here does I/O, reads the clock for decisions or logs: `now` is passed in, `clock` only measures.

Order (BSI TR-03135): EF.CardAccess (and EF.ATR/INFO) from the master file -> PACE, or BAC, or PACE then
BAC when allowed (recorded as "PACE->BAC") -> EF.COM -> EF.SOD -> DG14 and Chip Authentication when
offered -> DG1, DG2, DG15 -> Active Authentication -> passive authentication and the other checks.
A card pulled mid-read gives a result whose unfinished checks are "aborted"; this function never raises.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.document import apdu as A
from edge.document import bac, lds, pace, tlv
from edge.document import checks as C
from edge.document.apdu import CommandAPDU
from edge.document.authentication import (
    ChipAuthenticationTerminal,
    aa_hash_oid,
    aa_verify,
    chip_authentication_offer,
)
from edge.document.errors import (
    AccessControlError,
    ChipError,
    DocumentError,
    MalformedData,
    SecureMessagingError,
    TransportError,
)
from edge.document.mrz import CAN, MRZ
from edge.document.securityinfo import parse_security_infos
from edge.document.sm import SHORT_RESPONSE_LIMIT, SecureMessaging
from edge.document.sod import SOD, load_certificate, parse_sod, verify_signature
from edge.document.trust import TrustStore
from edge.gate.events import CheckResult

Transmit = Callable[[bytes], bytes]
AccessKey = MRZ | CAN

ODD_INS_FROM = 0x8000  # B0 offsets stop at 32767


@dataclass(frozen=True)
class ReadOptions:
    preferred_protocol: str = "pace"  # "pace" or "bac"
    allow_bac_fallback: bool = True
    read_portrait: bool = True
    decode_portrait: bool = True
    extended_length: str = "auto"  # "auto" (when EF.ATR/INFO says so), "never", "always"
    extended_read_size: int = 0xFF00
    short_read_size: int = SHORT_RESPONSE_LIMIT
    max_apdus: int = 4000
    deadline_s: float = 10.0  # whole reading, measured with `clock`
    crl_max_age: dt.timedelta = dt.timedelta(hours=48)
    pace_curves: tuple[int, ...] = (13, 12)  # preferred standardized domain parameters


def options_from_settings(settings, **overrides) -> ReadOptions:
    """ReadOptions from the [document] configuration section (edge.document.settings.DocumentSettings)."""
    values = {
        "preferred_protocol": settings.access_control,
        "allow_bac_fallback": settings.allow_bac_fallback,
        "crl_max_age": dt.timedelta(hours=settings.crl_max_age_h),
    }
    values.update(overrides)
    return ReadOptions(**values)


class _Abort(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass
class _Link:
    """Counts APDUs, applies secure messaging and turns status words into errors."""

    transmit: Transmit
    options: ReadOptions
    clock: Callable[[], float]
    started: float
    sm: SecureMessaging | None = None
    count: int = 0

    def send(self, command: CommandAPDU) -> tuple[bytes, int]:
        if self.count >= self.options.max_apdus:
            raise _Abort("too_many_apdus")
        if self.clock() - self.started > self.options.deadline_s:
            raise _Abort("timeout")
        self.count += 1
        wire = self.sm.protect(command) if self.sm else command.encode()
        response = self.transmit(wire)
        if self.sm is not None:
            return self.sm.unprotect(response)
        parsed = A.ResponseAPDU.decode(response)
        return parsed.data, parsed.sw

    def ok(self, command: CommandAPDU, what: str) -> bytes:
        data, sw = self.send(command)
        if sw != A.SW_OK:
            raise ChipError(sw, what)
        return data


@dataclass
class _Reading:
    result: C.DocumentResult = field(default_factory=C.DocumentResult)
    files: dict[int, bytes] = field(default_factory=dict)
    com: lds.EFCom | None = None
    sod: SOD | None = None
    extended: bool = False
    stopped: bool = False  # Chip Authentication failed: the chip is not the one EF.SOD vouches for
    pace_terminal: pace.PACETerminal | None = None  # kept for PACE-CAM, checked once DG14 is read
    sod_groups: set[int] = field(default_factory=set)


def read_document(
    transmit: Transmit,
    access_key: AccessKey,
    options: ReadOptions | None = None,
    trust_store: TrustStore | None = None,
    now: dt.datetime | None = None,
    *,
    rng: Callable[[int], bytes] = os.urandom,
    clock: Callable[[], float] = time.perf_counter,
) -> C.DocumentResult:
    options = options or ReadOptions()
    now = now or dt.datetime.now(dt.UTC)  # only a default for interactive use; the daemon passes `now`
    started = clock()
    link = _Link(transmit, options, clock, started)
    reading = _Reading()
    result = reading.result
    scanned = access_key if isinstance(access_key, MRZ) else None
    if scanned is not None:
        result.document_type = scanned.kind
        result.checks[C.MRZ_CHECK_DIGITS] = _ok(scanned.check_digits_ok)
    try:
        _run(link, reading, access_key, options, trust_store, now, rng, clock)
    except TransportError:
        _abort(reading, "card_removed")
    except _Abort as abort:
        _abort(reading, abort.reason)
    except SecureMessagingError:
        _abort(reading, "secure_messaging_error")
    except AccessControlError:
        _abort(reading, "access_control_failed")
    except (ChipError, MalformedData):
        _abort(reading, "read_error")
    except Exception as exc:  # the gate must get a result, whatever went wrong inside
        _abort(reading, f"internal_error_{type(exc).__name__}")
    result.apdu_count = link.count
    result.timings_ms["total"] = (clock() - started) * 1000
    return result


def _ok(condition: bool) -> CheckResult:
    return CheckResult.SUCCESSFUL if condition else CheckResult.FAILED


def _abort(reading: _Reading, reason: str) -> None:
    result = reading.result
    result.error = reason
    # Nothing from an unfinished reading is trusted; only the scanned MRZ's own check digits stand.
    for name in C.CHECK_NAMES:
        if name != C.MRZ_CHECK_DIGITS or name not in result.checks:
            result.checks[name] = CheckResult.ABORTED


def _timed(reading: _Reading, clock: Callable[[], float], name: str):
    class _Timer:
        def __enter__(self):
            self.start = clock()

        def __exit__(self, *exc):
            reading.result.timings_ms[name] = reading.result.timings_ms.get(name, 0.0) + (clock() - self.start) * 1000
            return False

    return _Timer()


# --- the procedure ----------------------------------------------------------------------------------------------


def _run(link, reading, access_key, options, trust_store, now, rng, clock) -> None:
    result = reading.result
    with _timed(reading, clock, "access_control"):
        wants_pace = options.preferred_protocol == "pace" or isinstance(access_key, CAN)
        card_access = _read_master_file(link, reading, options, wants_pace)
        _access_control(link, reading, access_key, options, card_access, rng)
    with _timed(reading, clock, "ef_com"):
        com = _read_file(link, reading, A.EF_COM)
        if com is None:
            raise ChipError(A.SW_FILE_NOT_FOUND, "EF.COM")
        reading.com = lds.parse_com(com)
    with _timed(reading, clock, "ef_sod"):
        sod_bytes = _read_file(link, reading, A.EF_SOD)
    # EF.SOD is signed, EF.COM is not: a clone could drop DG15 from EF.COM to dodge Active Authentication,
    # so everything either file lists is read.
    reading.sod = _parse_sod(sod_bytes)  # once: asn1crypto takes ~0.4 ms a parse
    reading.sod_groups = set(reading.sod.dg_hashes) if reading.sod is not None else set()
    listed = set(reading.com.data_groups) | reading.sod_groups
    dg14_infos: list = []
    if 14 in listed:
        with _timed(reading, clock, "dg14"):
            dg14 = _read_file(link, reading, A.dg_fid(14))
        if dg14 is not None:
            try:
                dg14_infos = lds.parse_dg14(dg14)
            except MalformedData:
                result.details[C.CHIP_AUTHENTICATION] = "dg14_malformed"
    with _timed(reading, clock, "chip_authentication"):
        _chip_authentication(link, reading, dg14_infos)
    for number, name in ((1, "dg1"), (2, "dg2"), (15, "dg15")):
        if number in listed and (number != 2 or options.read_portrait) and not reading.stopped:
            with _timed(reading, clock, name):
                _read_file(link, reading, A.dg_fid(number))
    with _timed(reading, clock, "active_authentication"):
        _active_authentication(link, reading, dg14_infos, rng)
    if reading.stopped:
        link.sm = None
    with _timed(reading, clock, "checks"):
        _content_checks(reading, access_key, options, now)
        _passive_authentication(reading, sod_bytes, trust_store, options, now)
    result.data_groups_read = tuple(sorted(n - 0x100 for n in reading.files if 0x101 <= n <= 0x110))


def _parse_sod(sod_bytes: bytes | None) -> SOD | None:
    """EF.SOD parsed; None when absent or malformed (passive authentication tells the two apart)."""
    if sod_bytes is None:
        return None
    try:
        return parse_sod(sod_bytes)
    except MalformedData:
        return None


def _read_master_file(link: _Link, reading: _Reading, options: ReadOptions, wants_pace: bool) -> bytes | None:
    """EF.CardAccess (PACE parameters) and EF.ATR/INFO (extended length), both optional, read in the clear."""
    card_access = None
    try:
        link.send(A.select_mf())
        if wants_pace:
            card_access = _read_plain_optional(link, A.EF_CARD_ACCESS, options)
        if options.extended_length == "always":
            reading.extended = True
        elif options.extended_length == "auto":
            atr_info = _read_plain_optional(link, A.EF_ATR_INFO, options)
            reading.extended = atr_info is not None and _announces_extended_length(atr_info)
    except (ChipError, MalformedData):
        pass
    return card_access


def _read_plain_optional(link: _Link, fid: int, options: ReadOptions) -> bytes | None:
    _, sw = link.send(A.select_ef(fid))
    if sw != A.SW_OK:
        return None
    data, sw = link.send(A.read_binary(0, options.short_read_size))
    if sw not in (A.SW_OK, A.SW_END_OF_FILE_WARNING) or not data:
        return None
    try:
        total = tlv.total_length(data)
    except MalformedData:
        return None
    while len(data) < total:
        chunk, sw = link.send(A.read_binary(len(data), min(options.short_read_size, total - len(data))))
        if sw not in (A.SW_OK, A.SW_END_OF_FILE_WARNING) or not chunk:
            return None
        data += chunk
    return data[:total]


def _announces_extended_length(atr_info: bytes) -> bool:
    """ISO 7816-4: DO7F66 (extended length information) in EF.ATR/INFO."""
    try:
        for item in tlv.decode_all(atr_info):
            if item.tag == 0x7F66:
                return True
    except MalformedData:
        return False
    return False


def _access_control(link, reading, access_key, options, card_access, rng) -> None:
    result = reading.result
    params = None
    if card_access is not None:
        try:
            params = pace.choose_parameters(parse_security_infos(card_access), options.pace_curves)
        except MalformedData:
            params = None
    want_pace = options.preferred_protocol == "pace" or isinstance(access_key, CAN)
    if want_pace:
        if params is not None:
            try:
                reading.pace_terminal = _pace(link, access_key, params, rng)
                result.protocol = "PACE"
                link.ok(A.select_aid(), "SELECT eMRTD")
                return
            except (AccessControlError, ChipError, SecureMessagingError) as exc:
                link.sm = None
                if isinstance(access_key, CAN) or not options.allow_bac_fallback:
                    raise AccessControlError("PACE failed") from exc
        elif isinstance(access_key, CAN) or not options.allow_bac_fallback:
            raise AccessControlError("PACE not offered by the chip")
        result.fallback = True
    _bac(link, access_key, rng)
    result.protocol = "PACE->BAC" if result.fallback else "BAC"


def _pace(link: _Link, access_key: AccessKey, params: pace.PACEParameters, rng) -> pace.PACETerminal:
    password = (pace.PACEPassword.from_can(access_key.value) if isinstance(access_key, CAN)
                else pace.PACEPassword.from_mrz(access_key.key_information()))
    terminal = pace.PACETerminal(params, password, rng)
    link.ok(terminal.set_at(), "MSE:SET AT")
    response = link.ok(terminal.step1(), "GENERAL AUTHENTICATE 1")
    response = link.ok(terminal.step2(response), "GENERAL AUTHENTICATE 2")
    response = link.ok(terminal.step3(response), "GENERAL AUTHENTICATE 3")
    response = link.ok(terminal.step4(response), "GENERAL AUTHENTICATE 4")
    link.sm = terminal.finish(response)
    return terminal


def _bac(link: _Link, access_key: AccessKey, rng) -> None:
    if not isinstance(access_key, MRZ):
        raise AccessControlError("BAC needs the MRZ")
    link.sm = None
    link.ok(A.select_aid(), "SELECT eMRTD")
    terminal = bac.BACTerminal(bac.derive_keys(access_key.key_information()), rng(8), rng(16))
    challenge = link.ok(A.get_challenge(), "GET CHALLENGE")
    data, sw = link.send(A.external_authenticate(terminal.external_authenticate_data(challenge)))
    if sw != A.SW_OK:
        raise AccessControlError(f"chip refused BAC ({sw:04X})")
    link.sm = terminal.finish(data)


def _read_file(link: _Link, reading: _Reading, fid: int) -> bytes | None:
    """Select and read a whole EF under secure messaging; None when the chip says it is not there."""
    _, sw = link.send(A.select_ef(fid))
    if sw in (A.SW_FILE_NOT_FOUND, A.SW_SECURITY_NOT_SATISFIED):
        return None
    if sw != A.SW_OK:
        raise ChipError(sw, "SELECT EF")
    chunk_size = _chunk_size(link, reading)
    data = _read_chunk(link, reading, 0, chunk_size)
    total = tlv.total_length(data) if data else 0
    if not data or total == 0:
        raise MalformedData("empty file")
    while len(data) < total:
        chunk = _read_chunk(link, reading, len(data), min(_chunk_size(link, reading), total - len(data)))
        if not chunk:
            raise MalformedData("file shorter than its TLV length")
        data += chunk
    content = data[:total]
    reading.files[fid] = content
    return content


def _chunk_size(link: _Link, reading: _Reading) -> int:
    return link.options.extended_read_size if reading.extended else link.options.short_read_size


def _read_chunk(link: _Link, reading: _Reading, offset: int, length: int) -> bytes:
    # Odd INS: the DO53 header eats into Ne, so a chunk comes back a few bytes short (the loop goes on).
    command = A.read_binary_odd(offset, length) if offset >= ODD_INS_FROM else A.read_binary(offset, length)
    data, sw = link.send(command)
    if reading.extended and (sw == A.SW_WRONG_LENGTH or sw >> 8 == 0x6C):
        # The chip (or reader) does not take this length: fall back to short reads for the rest.
        reading.extended = False
        return _read_chunk(link, reading, offset, min(length, link.options.short_read_size))
    if sw not in (A.SW_OK, A.SW_END_OF_FILE_WARNING):
        raise ChipError(sw, "READ BINARY")
    if offset >= ODD_INS_FROM:
        data = A.unwrap_odd_response(data)
    return data


# --- chip authenticity ------------------------------------------------------------------------------------------


def _chip_authentication(link: _Link, reading: _Reading, infos: list) -> None:
    result = reading.result
    try:
        offer = chip_authentication_offer(infos)
    except MalformedData:  # DG14's integrity is passive authentication's job; this key we just cannot use
        result.checks[C.CHIP_AUTHENTICATION] = CheckResult.UNDETERMINED
        result.details[C.CHIP_AUTHENTICATION] = "dg14_key_unsupported"
        return
    terminal = reading.pace_terminal
    if terminal is not None and terminal.params.chip_authentication_mapping:
        # PACE-CAM already proved the static key; check it against DG14 (whose hash passive auth checks).
        if not infos:
            withheld = 14 in reading.sod_groups  # EF.SOD vouches for a DG14 the chip will not show
            result.checks[C.CHIP_AUTHENTICATION] = CheckResult.FAILED if withheld else CheckResult.UNDETERMINED
            result.details[C.CHIP_AUTHENTICATION] = "dg14_unreadable" if withheld else "pace_cam_without_dg14"
            return
        ok = offer is not None and terminal.verify_chip_authentication_mapping(offer.public_key)
        result.checks[C.CHIP_AUTHENTICATION] = _ok(ok)
        result.details[C.CHIP_AUTHENTICATION] = "pace_cam" if ok else "pace_cam_mismatch"
        if not ok:
            reading.stopped = True
        return
    if offer is None:
        if not infos and 14 in reading.sod_groups:  # DG14 withheld: it may hold a CA key a clone cannot use
            result.checks[C.CHIP_AUTHENTICATION] = CheckResult.FAILED
            result.details[C.CHIP_AUTHENTICATION] = "dg14_unreadable"
        else:
            result.checks[C.CHIP_AUTHENTICATION] = CheckResult.NOT_SUPPORTED
        return
    terminal = ChipAuthenticationTerminal(offer)
    for command in terminal.commands():
        _, sw = link.send(command)
        if sw != A.SW_OK:
            result.checks[C.CHIP_AUTHENTICATION] = CheckResult.FAILED
            result.details[C.CHIP_AUTHENTICATION] = f"refused_{sw:04X}"
            return
    link.sm = terminal.session()
    # Confirmed when a response verifies under the new keys; a chip without the private key cannot do that.
    try:
        _, sw = link.send(A.select_ef(A.EF_COM))
    except SecureMessagingError:
        sw = A.SW_SM_INCORRECT
    result.checks[C.CHIP_AUTHENTICATION] = _ok(sw == A.SW_OK)
    if sw != A.SW_OK:
        result.details[C.CHIP_AUTHENTICATION] = "new_keys_not_confirmed"
        reading.stopped = True


def _active_authentication(link: _Link, reading: _Reading, dg14_infos: list, rng) -> None:
    result = reading.result
    dg15 = reading.files.get(A.dg_fid(15))
    if reading.stopped:
        result.checks[C.ACTIVE_AUTHENTICATION] = CheckResult.UNDETERMINED
        return
    if dg15 is None:
        if 15 in reading.sod_groups:  # EF.SOD vouches for an AA key the chip will not show
            result.checks[C.ACTIVE_AUTHENTICATION] = CheckResult.FAILED
            result.details[C.ACTIVE_AUTHENTICATION] = "dg15_unreadable"
        else:
            result.checks[C.ACTIVE_AUTHENTICATION] = CheckResult.NOT_SUPPORTED
        return
    try:
        public_key = lds.parse_dg15(dg15)
    except MalformedData:  # as for DG14: the hash check covers tampering, this key we cannot use
        result.checks[C.ACTIVE_AUTHENTICATION] = CheckResult.UNDETERMINED
        result.details[C.ACTIVE_AUTHENTICATION] = "dg15_key_unsupported"
        return
    challenge = rng(8)
    # A 2048-bit RSA signature needs extended length; ECDSA and RSA-1024 fit a short response.
    ne = 256 if reading.extended else SHORT_RESPONSE_LIMIT
    signature, sw = link.send(A.internal_authenticate(challenge, ne=ne))
    if sw != A.SW_OK:
        result.checks[C.ACTIVE_AUTHENTICATION] = CheckResult.FAILED
        result.details[C.ACTIVE_AUTHENTICATION] = f"refused_{sw:04X}"
        return
    result.checks[C.ACTIVE_AUTHENTICATION] = _ok(aa_verify(public_key, challenge, signature, aa_hash_oid(dg14_infos)))


# --- checks on the content ----------------------------------------------------------------------------------------


def _content_checks(reading: _Reading, access_key: AccessKey, options: ReadOptions, now: dt.datetime) -> None:
    result = reading.result
    scanned = access_key if isinstance(access_key, MRZ) else None
    dg1 = reading.files.get(A.dg_fid(1))
    chip_mrz = None
    if dg1 is not None:
        try:
            chip_mrz = lds.parse_dg1(dg1)
        except MalformedData:
            result.details[C.DG1_MATCHES_MRZ] = "dg1_malformed"
    result.mrz = chip_mrz
    if chip_mrz is not None:
        result.document_type = chip_mrz.kind
    if scanned is None:
        result.checks[C.MRZ_CHECK_DIGITS] = (
            _ok(chip_mrz.check_digits_ok) if chip_mrz is not None else CheckResult.UNDETERMINED)
        result.checks[C.DG1_MATCHES_MRZ] = CheckResult.NOT_SUPPORTED  # nothing scanned to compare with (CAN)
    elif chip_mrz is None:
        result.checks[C.DG1_MATCHES_MRZ] = CheckResult.FAILED if dg1 is not None else CheckResult.UNDETERMINED
    else:
        result.checks[C.DG1_MATCHES_MRZ] = _ok(chip_mrz.lines == scanned.lines)

    expiry_source = chip_mrz or scanned
    expiry = expiry_source.expiry_date() if expiry_source is not None else None
    if expiry is None:
        result.checks[C.DOCUMENT_EXPIRY] = (
            CheckResult.FAILED if expiry_source is not None else CheckResult.UNDETERMINED)
    else:
        result.checks[C.DOCUMENT_EXPIRY] = _ok(now.date() <= expiry)

    dg2 = reading.files.get(A.dg_fid(2))
    if dg2 is not None:
        try:
            face = lds.parse_dg2(dg2)[0]
            result.portrait_format = face.format
            result.portrait = lds.decode_image(face) if options.decode_portrait else face.image
        except MalformedData:
            result.details["portrait"] = "dg2_malformed"


def _passive_authentication(reading: _Reading, sod_bytes: bytes | None, trust_store: TrustStore | None,
                            options: ReadOptions, now: dt.datetime) -> None:
    result = reading.result
    checks = result.checks
    undetermined = (C.SIGNER_CHAIN, C.SIGNER_VALIDITY, C.SIGNER_REVOCATION)
    if sod_bytes is None:
        for name in (C.SOD_SIGNATURE, C.DATA_GROUP_HASHES, *undetermined):
            checks[name] = CheckResult.FAILED if name == C.SOD_SIGNATURE else CheckResult.UNDETERMINED
        result.details[C.SOD_SIGNATURE] = "sod_missing"
        return
    sod = reading.sod
    if sod is None:
        checks[C.SOD_SIGNATURE] = CheckResult.FAILED
        result.details[C.SOD_SIGNATURE] = "sod_malformed"
        for name in (C.DATA_GROUP_HASHES, *undetermined):
            checks[name] = CheckResult.UNDETERMINED
        return

    # Every data group read must be in EF.SOD with the same hash.
    mismatched = []
    for fid, content in reading.files.items():
        if 0x101 <= fid <= 0x110:
            number = fid - 0x100
            if sod.dg_hashes.get(number) != sod.hash(content):
                mismatched.append(number)
    checks[C.DATA_GROUP_HASHES] = _ok(not mismatched)
    if mismatched:
        result.details[C.DATA_GROUP_HASHES] = "dg" + "_dg".join(str(n) for n in sorted(mismatched))

    signer = None
    if sod.signer_certificate is not None:
        try:
            signer = load_certificate(sod.signer_certificate)
        except ValueError:
            signer = None
    verdict = verify_signature(sod, signer)
    checks[C.SOD_SIGNATURE] = _ok(verdict.ok)
    if not verdict.ok:
        result.details[C.SOD_SIGNATURE] = verdict.reason
    if signer is None:
        for name in undetermined:
            checks[name] = CheckResult.UNDETERMINED
        result.details[C.SIGNER_CHAIN] = "no_signer_certificate"
        return
    issuer = trust_store.issuer_of(signer) if trust_store is not None else None
    if trust_store is None:
        checks[C.SIGNER_CHAIN] = CheckResult.UNDETERMINED
        result.details[C.SIGNER_CHAIN] = "no_trust_store"
    else:
        checks[C.SIGNER_CHAIN] = _ok(issuer is not None)
        if issuer is None:
            result.details[C.SIGNER_CHAIN] = "no_trusted_csca"
    checks[C.SIGNER_VALIDITY] = TrustStore.validity(signer, issuer, now)
    if trust_store is None:
        checks[C.SIGNER_REVOCATION] = CheckResult.UNDETERMINED
        result.details[C.SIGNER_REVOCATION] = "no_trust_store"
    else:
        revocation, reason = trust_store.revocation(signer, issuer, now, options.crl_max_age)
        checks[C.SIGNER_REVOCATION] = revocation
        result.details[C.SIGNER_REVOCATION] = reason


__all__ = ["AccessKey", "DocumentError", "ReadOptions", "Transmit", "options_from_settings", "read_document"]
