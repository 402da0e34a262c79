"""The shared link protocol: framing, CRC, message layouts, the streaming decoder and duplicate detection."""

from __future__ import annotations

import pytest

from firmware import protocol as p


def all_kinds_of_message() -> list[p.Message]:
    return [
        p.Hello(p.ROLE_MCU, p.VERSION, 1, 2, 3, boot_count=70000, reset_cause=p.RESET_WATCHDOG, seq=0),
        p.Hello(p.ROLE_HOST, boot_count=0xDEADBEEF, seq=1),
        p.Heartbeat(seq=2),
        p.Command(p.OP_OPEN, p.DOOR_ENTRY, seq=3),
        p.Command(p.OP_SET_SAFE_STATE, p.DOOR_ALL, p.SAFE_LOCKED, seq=0xFFFF),
        p.Ack(3, seq=4),
        p.Nack(3, p.NACK_FIRE_ACTIVE, seq=5),
        p.Status(
            flags=p.SF_FIRE | p.SF_SESSION,
            safe_state=p.SAFE_EGRESS,
            doors=(
                p.DoorStatus(p.POS_CLOSED, p.DF_LOCKED, p.FAULT_NONE, 0),
                p.DoorStatus(p.POS_STOPPED, p.DF_FAULT, p.FAULT_TIMEOUT, 255),
            ),
            entry_beams=0b10,
            body_beams=0xA5,
            floor_beams=0x01,
            exit_beams=0b01,
            persons=2,
            uptime_ms=2**32 - 1,
            seq=6,
        ),
        p.Event(p.EV_MORE_THAN_ONE, p.DOOR_ALL, 2, time_ms=123456, seq=7),
        p.Event(p.EV_DOOR_FAULT, p.DOOR_EXIT, p.FAULT_JAMMED, seq=8),
    ]


@pytest.mark.parametrize(
    ("data", "crc"),
    [
        (b"123456789", 0x29B1),  # the catalogue check value of CRC-16/CCITT-FALSE
        (b"", 0xFFFF),
        (b"\x00", 0xE1F0),
        (b"A", 0xB915),
    ],
)
def test_crc16_is_ccitt_false(data: bytes, crc: int) -> None:
    assert p.crc16(data) == crc


def test_crc16_can_continue_over_pieces() -> None:
    assert p.crc16(b"6789", p.crc16(b"12345")) == 0x29B1


@pytest.mark.parametrize(
    ("raw", "stuffed"),
    [  # the examples of Cheshire & Baker's COBS paper / the usual reference vectors
        (b"\x00", b"\x01\x01"),
        (b"\x00\x00", b"\x01\x01\x01"),
        (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
        (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
        (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
        (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255)) + b"\x01"),
    ],
)
def test_cobs_vectors(raw: bytes, stuffed: bytes) -> None:
    assert p.cobs_encode(raw) == stuffed
    assert p.cobs_decode(stuffed) == raw


@pytest.mark.parametrize("bad", [b"\x05\x11\x22", b"\x02\x00", b"\x00"])
def test_cobs_rejects_malformed_blocks(bad: bytes) -> None:
    with pytest.raises(p.ProtocolError) as error:
        p.cobs_decode(bad)
    assert error.value.code == p.E_COBS


@pytest.mark.parametrize("message", all_kinds_of_message(), ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: p.Message) -> None:
    wire = p.encode(message)
    assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
    assert len(wire) <= p.MAX_ENCODED + 2
    assert p.Decoder().feed(wire) == [message]


def test_frame_layout_is_version_type_seq_body_crc() -> None:
    payload = p.encode_payload(p.Command(p.OP_CLOSE, p.DOOR_EXIT, 0, seq=0x1234))
    assert payload[:7] == bytes([p.VERSION, p.T_COMMAND, 0x12, 0x34, p.OP_CLOSE, p.DOOR_EXIT, 0])
    assert payload[7:] == p.crc16(payload[:7]).to_bytes(2, "big")


def test_a_stream_in_one_byte_chunks_gives_the_same_messages() -> None:
    messages = all_kinds_of_message()
    stream = b"".join(p.encode(m) for m in messages)
    decoder = p.Decoder()
    out = []
    for i in range(len(stream)):
        out.extend(decoder.feed(stream[i : i + 1]))
    assert out == messages
    assert decoder.frames == len(messages) and decoder.errors == 0


def test_garbage_before_a_frame_is_one_error_and_the_frame_survives() -> None:
    frame = p.Command(p.OP_OPEN, p.DOOR_ENTRY, seq=1)
    out = p.Decoder().feed(b"\x17\x42\x99" + p.encode(frame))
    assert len(out) == 2
    assert isinstance(out[0], p.ProtocolError)
    assert out[1] == frame


def test_a_flipped_bit_is_a_crc_error() -> None:
    wire = bytearray(p.encode(p.Command(p.OP_OPEN, p.DOOR_ENTRY, seq=1)))
    wire[4] ^= 0x01
    (error,) = p.Decoder().feed(bytes(wire))
    assert isinstance(error, p.ProtocolError) and error.code in (p.E_CRC, p.E_COBS)


def test_a_truncated_frame_does_not_spoil_the_next() -> None:
    first = p.encode(p.Status(seq=1))
    second = p.Ack(9, seq=2)
    out = p.Decoder().feed(first[:-6] + p.encode(second))
    assert out[-1] == second
    assert all(isinstance(item, p.ProtocolError) for item in out[:-1])


def test_wrong_version_unknown_type_and_wrong_length_are_named() -> None:
    def framed(payload: bytes) -> bytes:
        return p.DELIMITER + p.cobs_encode(payload + p.crc16(payload).to_bytes(2, "big")) + p.DELIMITER

    out = p.Decoder().feed(
        framed(bytes([2, p.T_HEARTBEAT, 0, 1]))
        + framed(bytes([p.VERSION, 0x7E, 0, 1]))
        + framed(bytes([p.VERSION, p.T_ACK, 0, 1, 5]))
        + framed(bytes([p.VERSION, p.T_NACK, 0, 1, 0, 5, 0xEE]))
        + framed(b"\x01")
    )
    assert [e.code for e in out] == [p.E_VERSION, p.E_TYPE, p.E_LENGTH, p.E_VALUE, p.E_SHORT]
    assert out[0].detail == 2  # the peer's version, to report a mismatch


def test_an_endless_run_without_delimiter_is_reported_once_and_memory_stays_bounded() -> None:
    decoder = p.Decoder()
    out = decoder.feed(b"\x01" * 10_000)
    assert [e.code for e in out] == [p.E_OVERFLOW]
    assert len(decoder._buffer) == p.MAX_ENCODED
    frame = p.Heartbeat(seq=5)
    assert decoder.feed(p.encode(frame)) == [frame]


def test_commands_with_unknown_op_or_door_decode_so_the_mcu_can_nack_them() -> None:
    (command,) = p.Decoder().feed(p.encode(p.Command(0xEE, 0x07, seq=1)))
    assert isinstance(command, p.Command) and command.op == 0xEE


class TestSeqWindow:
    def test_first_and_newer_numbers_are_new(self) -> None:
        window = p.SeqWindow()
        assert window.check(10) == (p.NEW, None)
        window.record(10, "ack")
        assert window.check(11)[0] == p.NEW

    def test_a_retry_is_a_duplicate_with_the_remembered_answer(self) -> None:
        window = p.SeqWindow()
        window.record(10, ("nack", p.NACK_FIRE_ACTIVE))
        assert window.check(10) == (p.DUPLICATE, ("nack", p.NACK_FIRE_ACTIVE))

    def test_an_old_number_outside_the_window_is_stale(self) -> None:
        window = p.SeqWindow(size=8)
        for seq in range(100, 120):
            window.record(seq, "ack")
        assert window.check(100)[0] == p.STALE
        assert window.check(119)[0] == p.DUPLICATE
        assert len(window) <= 8

    def test_an_overtaken_retry_inside_the_window_is_still_new(self) -> None:
        window = p.SeqWindow()
        window.record(7, "ack")
        assert window.check(6)[0] == p.NEW

    def test_in_order_an_unseen_older_number_is_stale_and_a_retry_still_a_duplicate(self) -> None:
        window = p.SeqWindow(in_order=True)  # the MCU's window for commands
        window.record(7, "ack")
        assert window.check(6)[0] == p.STALE  # never acts after the later command 7
        assert window.check(7) == (p.DUPLICATE, "ack")
        assert window.check(8)[0] == p.NEW

    def test_numbers_wrap_around(self) -> None:
        window = p.SeqWindow()
        window.record(0xFFFF, "ack")
        assert window.check(0)[0] == p.NEW
        window.record(0, "ack")
        assert window.newest == 0
        assert window.check(0xFFFF)[0] == p.DUPLICATE
        assert p.next_seq(0xFFFF) == 0
        assert p.seq_newer(0, 0xFFFF) and not p.seq_newer(0xFFFF, 0)
