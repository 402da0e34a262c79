"""SecurityInfos of EF.CardAccess and DG14 (ICAO 9303-11 §9.2), parsed strictly from DER.

    SecurityInfos ::= SET OF SecurityInfo
    SecurityInfo  ::= SEQUENCE { protocol OBJECT IDENTIFIER, requiredData ANY, optionalData ANY OPTIONAL }

Recognised: PACEInfo, ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo, ActiveAuthenticationInfo.
Anything else is kept as `UnknownInfo` (future protocols must not break reading).
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.document import tlv
from edge.document.errors import MalformedData

ID_PACE = "0.4.0.127.0.7.2.2.4"
ID_CA = "0.4.0.127.0.7.2.2.3"
ID_PK = "0.4.0.127.0.7.2.2.1"
ID_AA = "2.23.136.1.1.5"


def decode_oid(value: bytes) -> str:
    if not value or value[-1] & 0x80:
        raise MalformedData("bad OBJECT IDENTIFIER encoding")
    arcs: list[int] = []
    current = 0
    for byte in value:
        if current == 0 and byte == 0x80:
            raise MalformedData("non-minimal OBJECT IDENTIFIER arc")
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(current)
            current = 0
    first = arcs[0]
    head = [0, first] if first < 40 else ([1, first - 40] if first < 80 else [2, first - 80])
    return ".".join(str(a) for a in head + arcs[1:])


def encode_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2:
        raise ValueError("an OID has at least two arcs")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def decode_integer(value: bytes) -> int:
    if not value:
        raise MalformedData("empty INTEGER")
    return int.from_bytes(value, "big", signed=True)


def encode_integer(number: int) -> bytes:
    length = max(1, (number.bit_length() + 8) // 8)
    return tlv.encode(0x02, number.to_bytes(length, "big", signed=True))


@dataclass(frozen=True)
class PACEInfo:
    protocol: str
    version: int
    parameter_id: int | None


@dataclass(frozen=True)
class ChipAuthenticationInfo:
    protocol: str
    version: int
    key_id: int | None


@dataclass(frozen=True)
class ChipAuthenticationPublicKeyInfo:
    protocol: str
    subject_public_key_info: bytes  # DER SubjectPublicKeyInfo
    key_id: int | None


@dataclass(frozen=True)
class ActiveAuthenticationInfo:
    version: int
    signature_algorithm: str | None


@dataclass(frozen=True)
class UnknownInfo:
    protocol: str


SecurityInfo = (
    PACEInfo | ChipAuthenticationInfo | ChipAuthenticationPublicKeyInfo | ActiveAuthenticationInfo | UnknownInfo
)


def parse_security_infos(der: bytes) -> list[SecurityInfo]:
    """Parse a DER SET OF SecurityInfo (EF.CardAccess content, or DG14's value)."""
    tag, content = tlv.decode_one(der)
    if tag != 0x31:
        raise MalformedData("SecurityInfos must be a SET")
    return [_parse_info(item) for item in tlv.decode_all(content)]


def _parse_info(item: tlv.TLV) -> SecurityInfo:
    if item.tag != 0x30:
        raise MalformedData("SecurityInfo must be a SEQUENCE")
    fields = item.children()
    if len(fields) < 2 or fields[0].tag != 0x06:
        raise MalformedData("SecurityInfo needs an OID and required data")
    oid = decode_oid(fields[0].value)
    rest = fields[1:]
    if oid.startswith(ID_PACE + "."):
        return PACEInfo(oid, _int(rest[0]), _int(rest[1]) if len(rest) > 1 else None)
    if oid.startswith(ID_CA + "."):
        return ChipAuthenticationInfo(oid, _int(rest[0]), _int(rest[1]) if len(rest) > 1 else None)
    if oid.startswith(ID_PK + "."):
        if rest[0].tag != 0x30:
            raise MalformedData("ChipAuthenticationPublicKeyInfo needs a SubjectPublicKeyInfo")
        return ChipAuthenticationPublicKeyInfo(oid, rest[0].encode(), _int(rest[1]) if len(rest) > 1 else None)
    if oid == ID_AA:
        algorithm = None
        if len(rest) > 1:
            if rest[1].tag != 0x06:
                raise MalformedData("ActiveAuthenticationInfo signature algorithm must be an OID")
            algorithm = decode_oid(rest[1].value)
        return ActiveAuthenticationInfo(_int(rest[0]), algorithm)
    return UnknownInfo(oid)


def _int(item: tlv.TLV) -> int:
    if item.tag != 0x02:
        raise MalformedData("INTEGER expected")
    return decode_integer(item.value)


def encode_pace_info(info: PACEInfo) -> bytes:
    body = tlv.encode(0x06, encode_oid(info.protocol)) + encode_integer(info.version)
    if info.parameter_id is not None:
        body += encode_integer(info.parameter_id)
    return tlv.encode(0x30, body)


def encode_security_infos(encoded_infos: list[bytes]) -> bytes:
    return tlv.encode(0x31, b"".join(sorted(encoded_infos)))
