"""ICAO 9303-11 secure messaging as a sans-I/O object, for both ends of the link.

Terminal side: `protect(command) -> bytes` before sending, `unprotect(response) -> (data, sw)` after.
Chip side (used by the card emulator): `unprotect_command(apdu) -> CommandAPDU`, `protect_response(data, sw)`.
Both sides increment the send sequence counter (SSC) once per command and once per response. The SSC is 8
bytes for 3DES and 16 for AES; with AES the CBC IV is E(KSenc, SSC), with 3DES it is zero.

Data objects: DO87 (padding-indicator 01 + cryptogram; DO85 without indicator for odd INS), DO97 (Le),
DO99 (status word), DO8E (MAC over SSC || everything before DO8E, padded).
"""

from __future__ import annotations

from edge.document import tlv
from edge.document.apdu import CommandAPDU
from edge.document.crypto import CipherSuite, aes_ecb_encrypt, constant_time_equal, pad, unpad
from edge.document.errors import MalformedData, SecureMessagingError

# A protected response for Ne up to this many bytes still fits a short (256-byte) response.
SHORT_RESPONSE_LIMIT = 223

_SM_CLA = 0x0C


class SecureMessaging:
    def __init__(self, suite: CipherSuite, ks_enc: bytes, ks_mac: bytes, ssc: int = 0) -> None:
        self.suite = suite
        self.ks_enc = bytes(ks_enc)
        self.ks_mac = bytes(ks_mac)
        self.ssc = ssc

    def __repr__(self) -> str:  # never print keys
        return f"SecureMessaging({self.suite.name}-{self.suite.key_bits}, ssc={self.ssc})"

    @property
    def ssc_bytes(self) -> bytes:
        return (self.ssc % (1 << (8 * self.suite.block_size))).to_bytes(self.suite.block_size, "big")

    def _iv(self) -> bytes | None:
        if self.suite.name == "AES":
            return aes_ecb_encrypt(self.ks_enc, self.ssc_bytes)
        return None

    def _encrypt(self, data: bytes) -> bytes:
        return self.suite.encrypt(self.ks_enc, pad(data, self.suite.block_size), self._iv())

    def _decrypt(self, cryptogram: bytes) -> bytes:
        if not cryptogram or len(cryptogram) % self.suite.block_size:
            raise SecureMessagingError("cryptogram is not whole cipher blocks")
        return unpad(self.suite.decrypt(self.ks_enc, cryptogram, self._iv()))

    def _mac(self, data: bytes) -> bytes:
        return self.suite.sm_mac(self.ks_mac, self.ssc_bytes + data)

    # --- terminal side -------------------------------------------------------------------------------

    def protect(self, command: CommandAPDU | bytes) -> bytes:
        """Wrap a plain command APDU; returns the bytes to send."""
        if not isinstance(command, CommandAPDU):
            command = CommandAPDU.decode(command)
        self.ssc += 1
        cla = command.cla | _SM_CLA
        header = bytes([cla, command.ins, command.p1, command.p2])
        objects = b""
        if command.data:
            cryptogram = self._encrypt(command.data)
            if command.ins & 1:
                objects += tlv.encode(0x85, cryptogram)
            else:
                objects += tlv.encode(0x87, b"\x01" + cryptogram)
        extended = command.extended or (command.ne or 0) > SHORT_RESPONSE_LIMIT
        if command.ne is not None:
            le = (command.ne % 65536).to_bytes(2, "big") if command.ne > 256 or extended else bytes([command.ne % 256])
            objects += tlv.encode(0x97, le)
        mac = self._mac(pad(header, self.suite.block_size) + objects)
        objects += tlv.encode(0x8E, mac)
        extended = extended or len(objects) > 255
        return CommandAPDU(cla, command.ins, command.p1, command.p2, objects, ne=65536 if extended else 256,
                           force_extended=extended).encode()

    def unprotect(self, response: bytes) -> tuple[bytes, int]:
        """Check and unwrap a protected response; returns (plain data, status word).

        A bare status word other than 9000 is accepted as is (chips answer SM errors, and some other errors,
        without secure messaging); a bare 9000 is refused, since it could be forged.
        """
        response = bytes(response)
        if len(response) < 2:
            raise SecureMessagingError("response shorter than a status word")
        self.ssc += 1
        body, outer_sw = response[:-2], int.from_bytes(response[-2:], "big")
        if not body:
            if outer_sw == 0x9000:
                raise SecureMessagingError("unprotected success status (no MAC)")
            return b"", outer_sw
        cryptogram, _odd, sw, macced, mac = self._split(body, response_side=True)
        if mac is None:
            raise SecureMessagingError("response without DO8E")
        if not constant_time_equal(self._mac(macced), mac):
            raise SecureMessagingError("response MAC does not verify")
        if sw is None:
            raise SecureMessagingError("response without DO99")
        data = b""
        if cryptogram is not None:
            data = self._decrypt(cryptogram)
        return data, sw

    # --- chip side -------------------------------------------------------------------------------------

    def unprotect_command(self, apdu: bytes) -> CommandAPDU:
        """Check and unwrap a protected command (chip side). Raises SecureMessagingError (the chip answers
        6987 when objects are missing, 6988 when they are wrong)."""
        try:
            command = CommandAPDU.decode(apdu)
        except MalformedData as exc:
            raise SecureMessagingError(str(exc)) from exc
        if command.cla & _SM_CLA != _SM_CLA:
            raise SecureMessagingError("command without secure messaging")
        self.ssc += 1
        cryptogram, _odd, le, macced, mac = self._split(command.data, response_side=False)
        if mac is None:
            raise SecureMessagingError("command without DO8E")
        header = bytes([command.cla, command.ins, command.p1, command.p2])
        if not constant_time_equal(self._mac(pad(header, self.suite.block_size) + macced), mac):
            raise SecureMessagingError("command MAC does not verify")
        data = self._decrypt(cryptogram) if cryptogram is not None else b""
        ne = None
        if le is not None:
            value = int.from_bytes(le, "big")
            ne = value or (256 if len(le) == 1 else 65536)
        return CommandAPDU(command.cla & ~_SM_CLA & 0xFF, command.ins, command.p1, command.p2, data, ne=ne,
                           force_extended=command.extended)

    def protect_response(self, data: bytes, sw: int) -> bytes:
        """Wrap a response (chip side): DO87 when there is data, DO99, DO8E, then the status word."""
        self.ssc += 1
        objects = b""
        if data:
            objects += tlv.encode(0x87, b"\x01" + self._encrypt(data))
        objects += tlv.encode(0x99, sw.to_bytes(2, "big"))
        objects += tlv.encode(0x8E, self._mac(objects))
        return objects + sw.to_bytes(2, "big")

    # --- shared ------------------------------------------------------------------------------------------

    def _split(self, body: bytes, *, response_side: bool):
        """Split SM data objects; returns (cryptogram, odd, DO99-or-DO97 value, bytes covered by the MAC, MAC)."""
        try:
            items = tlv.decode_all(body)
        except MalformedData as exc:
            raise SecureMessagingError(f"secure messaging objects: {exc}") from exc
        cryptogram: bytes | None = None
        odd = False
        second: bytes | None = None
        macced = b""
        mac: bytes | None = None
        for item in items:
            if mac is not None:
                raise SecureMessagingError("data object after DO8E")
            if item.tag == 0x87 and cryptogram is None and second is None:
                if not item.value or item.value[0] != 0x01:
                    raise SecureMessagingError("DO87 without padding indicator 01")
                cryptogram = item.value[1:]
            elif item.tag == 0x85 and cryptogram is None and second is None:
                cryptogram, odd = item.value, True
            elif item.tag == (0x99 if response_side else 0x97) and second is None:
                if response_side and len(item.value) != 2:
                    raise SecureMessagingError("DO99 must hold two bytes")
                if not response_side and len(item.value) not in (1, 2):
                    raise SecureMessagingError("DO97 must hold one or two bytes")
                second = item.value
            elif item.tag == 0x8E:
                if len(item.value) != 8:
                    raise SecureMessagingError("DO8E must hold 8 bytes")
                mac = item.value
                continue
            else:
                raise SecureMessagingError(f"unexpected data object {item.tag:X}")
            macced += item.encode()
        sw = int.from_bytes(second, "big") if (second is not None and response_side) else None
        return cryptogram, odd, (sw if response_side else second), macced, mac
