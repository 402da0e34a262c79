"""A card that serves files with no access control and no secure messaging: the benchmark's baseline.

It answers SELECT (by AID, MF or file identifier) and READ BINARY (even and odd INS) in the clear, so
`benchmarks/card_read.py` can replay the same exchanges a full read makes and time the transport alone.
Never a model of a real eMRTD (those refuse plain reads with 6982).
"""

from __future__ import annotations

from edge.document import tlv
from edge.document.apdu import CommandAPDU
from edge.document.errors import MalformedData
from simulators.card.chip import file_id

_OK, _NOT_FOUND, _WRONG_P1P2, _INS_NOT_SUPPORTED, _NO_CURRENT = 0x9000, 0x6A82, 0x6B00, 0x6D00, 0x6986


class PlainCard:
    def __init__(self, files: dict[int | str, bytes]) -> None:
        self.files = {file_id(name): bytes(data) for name, data in files.items()}
        self.current: int | None = None

    def reset(self) -> None:
        self.current = None

    def process(self, command: bytes) -> bytes:
        try:
            c = CommandAPDU.decode(command)
        except MalformedData:
            return _sw(0x6700)
        if c.ins == 0xA4:
            if c.p1 in (0x00, 0x02) and len(c.data) == 2:
                fid = int.from_bytes(c.data, "big")
                if fid in self.files:
                    self.current = fid
                    return _sw(_OK)
                return _sw(_OK if fid == 0x3F00 else _NOT_FOUND)
            return _sw(_OK)  # SELECT by AID: the one application there is
        if c.ins in (0xB0, 0xB1):
            if self.current is None:
                return _sw(_NO_CURRENT)
            content, ne = self.files[self.current], c.ne or 256
            if c.ins == 0xB0:
                offset = (c.p1 << 8) | c.p2
                if offset > len(content):
                    return _sw(_WRONG_P1P2)
                return content[offset : offset + ne] + _sw(_OK)
            offset = int.from_bytes(tlv.expect(c.data, 0x54), "big")
            return tlv.encode(0x53, content[offset : offset + max(1, ne - 4)]) + _sw(_OK)
        return _sw(_INS_NOT_SUPPORTED)


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")
