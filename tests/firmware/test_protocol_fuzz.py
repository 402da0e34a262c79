"""Hypothesis fuzzes the frame decoder: whatever arrives, it returns only Messages and ProtocolErrors,
never raises, never hangs, keeps its buffer bounded and still decodes a good frame afterwards."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware import protocol as p

GOOD = p.Command(p.OP_CLOSE, p.DOOR_EXIT, 0, seq=4242)

frames = st.sampled_from(
    [
        p.encode(GOOD),
        p.encode(p.Status(persons=1, seq=3)),
        p.encode(p.Event(p.EV_ENTRY_PASSAGE, seq=9)),
        p.encode(p.Hello(p.ROLE_MCU, boot_count=5)),
    ]
)


@st.composite
def noisy_streams(draw: st.DrawFn) -> bytes:
    """Good frames mixed with random bytes, truncations and bit flips."""
    pieces = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["frame", "random", "truncated", "flipped"]))
        frame = draw(frames)
        if kind == "frame":
            pieces.append(frame)
        elif kind == "random":
            pieces.append(draw(st.binary(max_size=120)))
        elif kind == "truncated":
            pieces.append(frame[: draw(st.integers(0, len(frame) - 1))])
        else:
            data = bytearray(frame)
            index = draw(st.integers(0, len(data) - 1))
            data[index] ^= 1 << draw(st.integers(0, 7))
            pieces.append(bytes(data))
    return b"".join(pieces)


def check_items(items: list) -> None:
    for item in items:
        assert isinstance(item, p.Message | p.ProtocolError), item


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.lists(st.integers(1, 64), max_size=20))
def test_random_bytes_give_only_protocol_errors_or_messages(data: bytes, chunks: list[int]) -> None:
    decoder = p.Decoder()
    start = 0
    for size in [*chunks, len(data)]:
        check_items(decoder.feed(data[start : start + size]))
        start += size
    assert decoder._length <= p.MAX_ENCODED
    # and the link recovers: the next good frame is decoded
    assert decoder.feed(p.encode(GOOD))[-1] == GOOD


@settings(max_examples=400, deadline=None)
@given(noisy_streams())
def test_noisy_streams_never_raise_and_recover(stream: bytes) -> None:
    decoder = p.Decoder()
    check_items(decoder.feed(stream))
    assert decoder.feed(p.encode(GOOD))[-1] == GOOD


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_decode_of_any_cobs_block_raises_only_protocol_error(data: bytes) -> None:
    try:
        message = p.decode(data)
    except p.ProtocolError:
        return
    assert isinstance(message, p.Message)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFF)
)
def test_any_command_round_trips(op: int, door: int, arg: int, seq: int) -> None:
    command = p.Command(op, door, arg, seq=seq)
    assert p.Decoder().feed(p.encode(command)) == [command]
