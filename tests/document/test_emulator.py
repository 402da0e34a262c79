"""The emulator's side of the vpcd protocol, against a stand-in for vpcd (a listening socket): framing,
control messages, TCP options, and the faults as they look on the wire. No pcscd needed."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from simulators.card.emulator import DEFAULT_ATR, Faults, VpcdEmulator


class EchoCard:
    """Answers every APDU with its INS byte and 9000; counts resets."""

    def __init__(self) -> None:
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def process(self, command: bytes) -> bytes:
        return bytes([command[1]]) + b"\x90\x00"


class FakeVpcd:
    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None

    def accept(self) -> socket.socket:
        self.server.settimeout(5)
        self.conn, _ = self.server.accept()
        self.conn.settimeout(5)
        return self.conn

    def send(self, payload: bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(len(payload).to_bytes(2, "big"))  # vpcd sends length and payload separately
        self.conn.sendall(payload)

    def receive(self) -> bytes | None:
        assert self.conn is not None
        header = self._exact(2)
        return None if header is None else self._exact(int.from_bytes(header, "big"))

    def _exact(self, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            chunk = self.conn.recv(size - len(data))  # type: ignore[union-attr]
            if not chunk:
                return None
            data += chunk
        return data


@pytest.fixture
def vpcd() -> Iterator[FakeVpcd]:
    fake = FakeVpcd()
    yield fake
    if fake.conn is not None:
        fake.conn.close()
    fake.server.close()


def test_control_messages_and_apdus_follow_vpcd_framing(vpcd: FakeVpcd) -> None:
    card = EchoCard()
    with VpcdEmulator(port=vpcd.port) as emulator:
        emulator.insert(card)
        vpcd.accept()
        vpcd.send(b"\x04")
        assert vpcd.receive() == DEFAULT_ATR
        resets = card.resets
        vpcd.send(b"\x01")  # power on: no answer, the chip starts afresh
        vpcd.send(b"\x02")  # reset
        vpcd.send(bytes.fromhex("00A4040C07A0000002471001"))
        assert vpcd.receive() == b"\xa4\x90\x00"
        assert card.resets == resets + 2
        assert emulator.present and emulator.apdu_count == 1


def test_the_card_socket_disables_nagle(vpcd: FakeVpcd) -> None:
    with VpcdEmulator(port=vpcd.port) as emulator:
        emulator.insert(EchoCard())
        vpcd.accept()
        sock = emulator._current.sock  # type: ignore[union-attr]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_a_pulled_card_closes_the_connection_instead_of_answering(vpcd: FakeVpcd) -> None:
    with VpcdEmulator(port=vpcd.port) as emulator:
        emulator.insert(EchoCard(), Faults(pull_after=1))
        vpcd.accept()
        vpcd.send(b"\x00\xb0\x00\x00\x10")
        assert vpcd.receive() == b"\xb0\x90\x00"
        vpcd.send(b"\x00\xb0\x00\x10\x10")
        assert vpcd.receive() is None
        assert not emulator.present


def test_wrong_mac_and_truncation_change_the_answer_on_the_wire(vpcd: FakeVpcd) -> None:
    with VpcdEmulator(port=vpcd.port) as emulator:
        emulator.insert(EchoCard(), Faults(wrong_mac_after=0))
        vpcd.accept()
        vpcd.send(b"\x00\xb0\x00\x00\x10")
        assert vpcd.receive() == b"\xb1\x90\x00"  # the last byte before SW1 SW2 flipped


def test_remove_closes_the_connection(vpcd: FakeVpcd) -> None:
    with VpcdEmulator(port=vpcd.port) as emulator:
        emulator.insert(EchoCard())
        vpcd.accept()
        emulator.remove()
        assert vpcd.receive() is None and not emulator.present


def test_no_vpcd_listening_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionError, match="vpcd not listening"):
        VpcdEmulator(port=port).insert(EchoCard(), timeout=0.2)


def test_plain_card_serves_files_in_the_clear_for_the_benchmark_baseline() -> None:
    from edge.document import apdu as A
    from edge.document import tlv
    from simulators.card.plain_card import PlainCard

    content = bytes(range(256)) * 200  # 51 200 bytes: needs odd INS beyond 32 767
    card = PlainCard({"DG2": content})
    assert card.process(A.select_ef(A.dg_fid(2)).encode()) == b"\x90\x00"
    assert card.process(A.read_binary(0, 223).encode()) == content[:223] + b"\x90\x00"
    assert card.process(A.read_binary(100, 0xFF00).encode())[:-2] == content[100 : 100 + 0xFF00]
    odd = card.process(A.read_binary_odd(40_000, 1000).encode())
    assert odd[-2:] == b"\x90\x00" and tlv.expect(odd[:-2], 0x53) == content[40_000:40_996]
    assert card.process(bytes.fromhex("0084000008"))[-2:] == b"\x6d\x00"  # no access control to speak of
