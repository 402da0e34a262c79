"""Whatever reaches the firmware's link, it never raises, and only valid commands move anything."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware import protocol as P
from simulators.doors.sim import DoorSim


def settled_sim() -> DoorSim:
    sim = DoorSim()
    sim.receive(P.encode(P.Hello(P.ROLE_HOST, boot_count=1, seq=1)))
    sim.receive(P.encode(P.Command(P.OP_LOCK, P.DOOR_EXIT, seq=2)))
    sim.advance(2000)
    sim.take_output()
    return sim


SETTLED = settled_sim()


def motors(sim: DoorSim) -> list[int]:
    return [sim.machine.duty(spec["pwm"]) for spec in sim.cfg.DOORS]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_raise_and_never_move_a_door(data: bytes) -> None:
    sim = settled_sim() if SETTLED.now > 10_000 else SETTLED
    before = (sim.controller.doors[0].motion, sim.controller.doors[1].motion, sim.controller.emergency)
    sim.receive(data)
    sim.advance(sim.cfg.TICK_MS)
    assert motors(sim) == [0, 0]
    after = (sim.controller.doors[0].motion, sim.controller.doors[1].motion, sim.controller.emergency)
    assert after == before


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFF), st.data())
def test_a_corrupted_command_is_never_executed(op: int, door: int, arg: int, seq: int, data: st.DataObject) -> None:
    """One corrupted data byte (any value but the delimiter): CRC-16 detects every error burst up to 16 bits,
    so this holds for certain, not just with high probability. (COBS code bytes are left alone: moving a
    zero changes two payload bytes, caught with probability 1 - 2**-16 only.)"""
    frame = bytearray(P.encode(P.Command(op, door, arg, seq=seq)))
    codes, position = set(), 1
    while position < len(frame) - 1:
        codes.add(position)
        position += frame[position]
    index = data.draw(st.sampled_from([i for i in range(1, len(frame) - 1) if i not in codes]))
    frame[index] = data.draw(st.integers(1, 255).filter(lambda value: value != frame[index]))
    sim = DoorSim()
    sim.receive(P.encode(P.Hello(P.ROLE_HOST, boot_count=1, seq=1)))
    sim.take_output()
    sim.receive(bytes(frame))
    answers = [f for f in sim.frames() if isinstance(f, P.Ack | P.Nack)]
    assert answers == []  # not even answered: the frame was not accepted
