"""A card that serves files with no access control and no secure messaging: the benchmark's baseline.

It answers SELECT (by AID, MF or file identifier) and READ BINARY (even and odd INS) in the clear, so
`benchmarks/card_read.py` can replay the same exchanges a full read makes and time the transport alone.
Never a model of a real eMRTD (those refuse plain reads with 6982).
"""

from __future__ import annotations

from edge.document import tlv
from simulators.card.chip import file_id

_OK, _NOT_FOUND, _WRONG_P1P2, _INS_NOT_SUPPORTED, _NO_CURRENT = 0x9000, 0x6A82, 0x6B00, 0x6D00, 0x6986


class PlainCard:
    def __init__(self, files: dict[int | str, bytes]) -> None:
        self.files = {file_id(name): bytes(data) for name, data in files.items()}
        self.current: int | None = None

    def reset(self) -> None:
        self.current = None

    def process(self, command: bytes) -> bytes:
        if len(command) < 4:
            return _sw(0x6700)
        ins, p1, p2 = command[1], command[2], command[3]
        body = command[4:]
        if ins == 0xA4:
            if p1 in (0x00, 0x02) and len(body) >= 3 and body[0] == 2:
                fid = int.from_bytes(body[1:3], "big")
                if fid in self.files:
                    self.current = fid
                    return _sw(_OK)
                return _sw(_OK if fid == 0x3F00 else _NOT_FOUND)
            return _sw(_OK)  # SELECT by AID: the one application there is
        if ins in (0xB0, 0xB1):
            if self.current is None:
                return _sw(_NO_CURRENT)
            content = self.files[self.current]
            ne = _ne(body, ins == 0xB1)
            if ins == 0xB0:
                offset = (p1 << 8) | p2
                chunk = content[offset : offset + ne]
                return chunk + _sw(_OK) if offset <= len(content) else _sw(_WRONG_P1P2)
            lc = body[0]
            offset = int.from_bytes(tlv.expect(body[1 : 1 + lc], 0x54), "big")
            return tlv.encode(0x53, content[offset : offset + max(1, ne - 4)]) + _sw(_OK)
        return _sw(_INS_NOT_SUPPORTED)


def _ne(body: bytes, has_data: bool) -> int:
    """Le of a short or extended APDU (0 meaning the maximum)."""
    if has_data:
        body = body[1 + body[0] :] if body and body[0] else body[3 + int.from_bytes(body[1:3], "big") :]
    if len(body) == 1:
        return body[0] or 256
    if len(body) in (2, 3):
        value = int.from_bytes(body[-2:], "big")
        return value or 65536
    return 256


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")
