"""Command and response APDUs (ISO/IEC 7816-4): short and extended length, status words, the commands we use.

`ne` is the expected response length as a number (1..65536) or None for "no data expected"; 256 and 65536
encode as 00 and 0000. Extended length is chosen automatically when data or ne do not fit a short APDU.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.document import tlv
from edge.document.errors import MalformedData

SW_OK = 0x9000
SW_END_OF_FILE_WARNING = 0x6282
SW_WRONG_LENGTH = 0x6700
SW_SM_MISSING = 0x6987
SW_SM_INCORRECT = 0x6988
SW_SECURITY_NOT_SATISFIED = 0x6982
SW_AUTH_BLOCKED = 0x6983
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_COMMAND_NOT_ALLOWED = 0x6986
SW_WRONG_DATA = 0x6A80
SW_FUNCTION_NOT_SUPPORTED = 0x6A81
SW_FILE_NOT_FOUND = 0x6A82
SW_INCORRECT_P1P2 = 0x6A86
SW_REFERENCE_NOT_FOUND = 0x6A88
SW_WRONG_P1P2 = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW_UNKNOWN = 0x6F00

SW_MEANINGS = {
    SW_OK: "success",
    SW_END_OF_FILE_WARNING: "end of file reached before Ne bytes",
    0x6300: "authentication failed",
    SW_WRONG_LENGTH: "wrong length",
    0x6881: "logical channel not supported",
    0x6882: "secure messaging not supported",
    0x6883: "last command of the chain expected",
    0x6884: "command chaining not supported",
    SW_SECURITY_NOT_SATISFIED: "security status not satisfied",
    SW_AUTH_BLOCKED: "authentication method blocked",
    0x6984: "reference data not usable",
    SW_CONDITIONS_NOT_SATISFIED: "conditions of use not satisfied",
    SW_COMMAND_NOT_ALLOWED: "command not allowed (no current EF)",
    SW_SM_MISSING: "expected secure messaging data objects missing",
    SW_SM_INCORRECT: "incorrect secure messaging data objects",
    SW_WRONG_DATA: "incorrect parameters in the data field",
    SW_FUNCTION_NOT_SUPPORTED: "function not supported",
    SW_FILE_NOT_FOUND: "file or application not found",
    0x6A83: "record not found",
    0x6A84: "not enough memory",
    SW_INCORRECT_P1P2: "incorrect parameters P1-P2",
    SW_REFERENCE_NOT_FOUND: "referenced data not found",
    SW_WRONG_P1P2: "wrong parameters P1-P2 (offset outside the EF)",
    SW_INS_NOT_SUPPORTED: "instruction not supported",
    SW_CLA_NOT_SUPPORTED: "class not supported",
    SW_UNKNOWN: "no precise diagnosis",
}


def sw_meaning(sw: int) -> str:
    if sw in SW_MEANINGS:
        return SW_MEANINGS[sw]
    if sw >> 8 == 0x61:
        return f"{sw & 0xFF} more bytes available"
    if sw >> 8 == 0x6C:
        return f"wrong Le, exact length is {sw & 0xFF or 256}"
    if sw & 0xFFF0 == 0x63C0:
        return f"verification failed, {sw & 0x0F} tries left"
    return "unknown status"


@dataclass(frozen=True)
class CommandAPDU:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    ne: int | None = None
    force_extended: bool = False

    @property
    def extended(self) -> bool:
        return self.force_extended or len(self.data) > 255 or (self.ne is not None and self.ne > 256)

    def encode(self) -> bytes:
        header = bytes([self.cla, self.ins, self.p1, self.p2])
        if len(self.data) > 65535:
            raise ValueError("command data longer than 65535 bytes")
        if self.ne is not None and not 1 <= self.ne <= 65536:
            raise ValueError("ne must be 1..65536")
        if not self.extended:
            body = b""
            if self.data:
                body += bytes([len(self.data)]) + self.data
            if self.ne is not None:
                body += bytes([self.ne % 256])
            return header + body
        body = b""
        if self.data:
            body += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
        if self.ne is not None:
            le = (self.ne % 65536).to_bytes(2, "big")
            body += le if self.data else b"\x00" + le
        return header + body

    @classmethod
    def decode(cls, apdu: bytes) -> CommandAPDU:
        """Parse the four ISO 7816-3 cases, short and extended (the chip side needs this)."""
        apdu = bytes(apdu)
        if len(apdu) < 4:
            raise MalformedData("command APDU shorter than its header")
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, ne=body[0] or 256)
        if body[0] != 0:
            lc = body[0]
            if len(body) == 1 + lc:
                return cls(cla, ins, p1, p2, body[1:])
            if len(body) == 2 + lc:
                return cls(cla, ins, p1, p2, body[1 : 1 + lc], ne=body[-1] or 256)
            raise MalformedData("short APDU length mismatch")
        # Extended length: 00 then two bytes.
        if len(body) == 3:
            return cls(cla, ins, p1, p2, ne=int.from_bytes(body[1:3], "big") or 65536, force_extended=True)
        if len(body) < 3:
            raise MalformedData("extended APDU truncated")
        lc = int.from_bytes(body[1:3], "big")
        if lc == 0:
            raise MalformedData("extended Lc of zero")
        rest = body[3:]
        if len(rest) == lc:
            return cls(cla, ins, p1, p2, rest, force_extended=True)
        if len(rest) == lc + 2:
            return cls(cla, ins, p1, p2, rest[:lc], ne=int.from_bytes(rest[lc:], "big") or 65536, force_extended=True)
        raise MalformedData("extended APDU length mismatch")


@dataclass(frozen=True)
class ResponseAPDU:
    data: bytes
    sw: int

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    @classmethod
    def decode(cls, response: bytes) -> ResponseAPDU:
        response = bytes(response)
        if len(response) < 2:
            raise MalformedData("response shorter than its status word")
        return cls(response[:-2], int.from_bytes(response[-2:], "big"))

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")


# --- the commands of an eMRTD reading -------------------------------------------------------------------

EMRTD_AID = bytes.fromhex("A0000002471001")

# Short EF identifiers (ICAO 9303-10) and file identifiers.
EF_CARD_ACCESS = 0x011C
EF_ATR_INFO = 0x2F01
EF_COM = 0x011E
EF_SOD = 0x011D


def dg_fid(number: int) -> int:
    """File identifier of DG1..DG16: 0101..0110."""
    return 0x0100 + number


def select_aid(aid: bytes = EMRTD_AID) -> CommandAPDU:
    return CommandAPDU(0x00, 0xA4, 0x04, 0x0C, aid)


def select_mf() -> CommandAPDU:
    return CommandAPDU(0x00, 0xA4, 0x00, 0x0C, b"\x3F\x00")


def select_ef(fid: int) -> CommandAPDU:
    return CommandAPDU(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big"))


def read_binary(offset: int, length: int) -> CommandAPDU:
    """READ BINARY (B0) of the current EF; offsets up to 32767."""
    if not 0 <= offset <= 0x7FFF:
        raise ValueError("B0 offset must be below 32768: use read_binary_odd")
    return CommandAPDU(0x00, 0xB0, offset >> 8, offset & 0xFF, ne=length)


def read_binary_odd(offset: int, length: int) -> CommandAPDU:
    """READ BINARY (B1) of the current EF with the offset in DO54 (any offset below 2^24)."""
    raw = offset.to_bytes(max(1, (offset.bit_length() + 7) // 8), "big")
    return CommandAPDU(0x00, 0xB1, 0x00, 0x00, tlv.encode(0x54, raw), ne=length)


def unwrap_odd_response(data: bytes) -> bytes:
    """The data of an odd-INS READ BINARY response is inside DO53."""
    return tlv.expect(data, 0x53)


def get_challenge(length: int = 8) -> CommandAPDU:
    return CommandAPDU(0x00, 0x84, 0x00, 0x00, ne=length)


def external_authenticate(data: bytes) -> CommandAPDU:
    return CommandAPDU(0x00, 0x82, 0x00, 0x00, data, ne=40)


def internal_authenticate(challenge: bytes, ne: int = 256) -> CommandAPDU:
    return CommandAPDU(0x00, 0x88, 0x00, 0x00, challenge, ne=ne)
