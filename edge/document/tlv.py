"""Strict BER-TLV (ISO/IEC 7816-4 / ASN.1 BER subset used by ICAO 9303): definite lengths only.

Tags are kept as integers of their encoded bytes (0x7F61, 0x5F1F, 0x87), the way the standards print them.

    >>> encode(0x5F1F, b"P<UTO")
    b'_\\x1f\\x05P<UTO'
    >>> decode_one(encode(0x61, encode(0x5F1F, b"x")))
    (97, b'_\\x1f\\x01x')
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from edge.document.errors import TLVError

MAX_TAG_BYTES = 4
MAX_LENGTH_BYTES = 4


@dataclass(frozen=True)
class TLV:
    tag: int
    value: bytes

    @property
    def constructed(self) -> bool:
        return bool(_first_tag_byte(self.tag) & 0x20)

    def children(self) -> list[TLV]:
        return decode_all(self.value)

    def child(self, tag: int) -> TLV:
        for item in self.children():
            if item.tag == tag:
                return item
        raise TLVError(f"tag {tag:X} not found inside {self.tag:X}")

    def find(self, tag: int) -> TLV | None:
        for item in self.children():
            if item.tag == tag:
                return item
        return None

    def encode(self) -> bytes:
        return encode(self.tag, self.value)


def _first_tag_byte(tag: int) -> int:
    while tag > 0xFF:
        tag >>= 8
    return tag


def encode_tag(tag: int) -> bytes:
    if tag < 0:
        raise TLVError("negative tag")
    length = max(1, (tag.bit_length() + 7) // 8)
    return tag.to_bytes(length, "big")


def encode_length(length: int) -> bytes:
    if length < 0:
        raise TLVError("negative length")
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    if size > MAX_LENGTH_BYTES:
        raise TLVError("length too large")
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def encode(tag: int, value: bytes) -> bytes:
    return encode_tag(tag) + encode_length(len(value)) + bytes(value)


def read_tag(data: bytes, offset: int) -> tuple[int, int]:
    """Return (tag, offset after the tag)."""
    if offset >= len(data):
        raise TLVError(f"tag missing at offset {offset}")
    first = data[offset]
    tag = first
    offset += 1
    if first & 0x1F == 0x1F:
        count = 1
        while True:
            if offset >= len(data):
                raise TLVError("truncated multi-byte tag")
            byte = data[offset]
            tag = (tag << 8) | byte
            offset += 1
            count += 1
            if count > MAX_TAG_BYTES:
                raise TLVError("tag too long")
            if not byte & 0x80:
                break
    return tag, offset


def read_length(data: bytes, offset: int) -> tuple[int, int]:
    """Return (length, offset after the length field)."""
    if offset >= len(data):
        raise TLVError(f"length missing at offset {offset}")
    first = data[offset]
    offset += 1
    if first < 0x80:
        return first, offset
    size = first & 0x7F
    if size == 0:
        raise TLVError("indefinite length not allowed")
    if size > MAX_LENGTH_BYTES:
        raise TLVError("length field too long")
    if offset + size > len(data):
        raise TLVError("truncated length field")
    return int.from_bytes(data[offset : offset + size], "big"), offset + size


def decode_at(data: bytes, offset: int = 0) -> tuple[TLV, int]:
    """Decode one TLV at `offset`; return it and the offset just after it."""
    tag, offset = read_tag(data, offset)
    length, offset = read_length(data, offset)
    end = offset + length
    if end > len(data):
        raise TLVError(f"value of tag {tag:X} truncated ({length} bytes announced, {len(data) - offset} present)")
    return TLV(tag, bytes(data[offset:end])), end


def iter_decode(data: bytes) -> Iterator[TLV]:
    offset = 0
    data = bytes(data)
    while offset < len(data):
        item, offset = decode_at(data, offset)
        yield item


def decode_all(data: bytes) -> list[TLV]:
    """Decode a concatenation of TLVs that must cover `data` exactly."""
    return list(iter_decode(data))


def decode_one(data: bytes) -> tuple[int, bytes]:
    """Decode exactly one TLV covering all of `data` (no trailing bytes)."""
    item, end = decode_at(bytes(data), 0)
    if end != len(data):
        raise TLVError(f"{len(data) - end} trailing bytes after tag {item.tag:X}")
    return item.tag, item.value


def decode_prefix(data: bytes) -> tuple[TLV, bytes]:
    """Decode the first TLV and return it with the bytes that follow (files may be padded after their TLV)."""
    item, end = decode_at(bytes(data), 0)
    return item, bytes(data[end:])


def expect(data: bytes, tag: int) -> bytes:
    """Decode one TLV that must carry `tag`; return its value."""
    found, value = decode_one(data)
    if found != tag:
        raise TLVError(f"expected tag {tag:X}, found {found:X}")
    return value


def total_length(header: bytes) -> int:
    """Length of the whole TLV given at least its first bytes (tag + length): how much of a file to read."""
    tag, offset = read_tag(header, 0)
    length, offset = read_length(header, offset)
    del tag
    return offset + length
