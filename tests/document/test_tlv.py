"""Strict BER-TLV."""

from __future__ import annotations

import pytest

from edge.document import tlv
from edge.document.errors import TLVError


@pytest.mark.parametrize("length", [0, 1, 127, 128, 255, 256, 65535, 70000])
def test_round_trip_of_every_length_form(length):
    value = bytes(length)
    encoded = tlv.encode(0x5F1F, value)
    assert tlv.decode_one(encoded) == (0x5F1F, value)
    assert tlv.total_length(encoded[:8]) == len(encoded)


def test_multi_byte_tags_and_children():
    inner = tlv.encode(0x5F2E, b"face") + tlv.encode(0x87, b"\x01\x02")
    outer = tlv.TLV(0x7F61, inner)
    assert outer.constructed
    assert [c.tag for c in outer.children()] == [0x5F2E, 0x87]
    assert outer.child(0x87).value == b"\x01\x02"
    assert tlv.decode_one(outer.encode()) == (0x7F61, inner)


@pytest.mark.parametrize("data", [b"", b"\x5f", b"\x87\x05abc", b"\x87\x80abc", b"\x87\x85\x00\x00\x00\x00\x01",
                                  b"\x87\x82\x01", b"\x9f\xff\xff\xff\x01\x00"])
def test_malformed_tlv_raises_tlv_error(data):
    with pytest.raises(TLVError):
        tlv.decode_all(data) if data else tlv.decode_one(data)


def test_trailing_bytes_are_refused_by_decode_one():
    with pytest.raises(TLVError):
        tlv.decode_one(tlv.encode(0x87, b"x") + b"\x00")
    with pytest.raises(TLVError):
        tlv.expect(tlv.encode(0x87, b"x"), 0x99)
