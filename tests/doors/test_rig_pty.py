"""Firmware in the loop over a real pseudo-terminal: raw protocol frames through pyserial to the door rig
(simulators/doors/rig.py), the real firmware logic running in real time with the door physics.

Doors travel in 300 ms here (1.5 s in the default model) to keep the suite short; timing-critical claims
(one tick, the watchdog) are checked against the firmware's own clock, not the wall clock."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest
from rig_serial_host import SerialHost

from firmware import protocol as P
from simulators.doors.physics import DOOR_X
from simulators.doors.rig import DoorRig

ENTRY, EXIT = P.DOOR_ENTRY, P.DOOR_EXIT


@pytest.fixture
def door_rig(tmp_path) -> Iterator[DoorRig]:
    rig = DoorRig(link=str(tmp_path / "doors"))
    for door in rig.sim.world.doors:
        door.travel_ms = 300
    with rig:
        yield rig


@pytest.fixture
def mcu(door_rig: DoorRig) -> Iterator[SerialHost]:
    host = SerialHost(door_rig.port)
    host.hello()
    yield host
    host.close()


def at(status: P.Status, door: int, position: int) -> bool:
    return status.doors[door].position == position


def test_the_stable_link_points_at_the_pty_and_goes_away_on_stop(tmp_path) -> None:
    link = tmp_path / "doors"
    with DoorRig(link=str(link)) as rig:
        assert os.path.realpath(link) == rig.pty_name
    assert not link.exists()


@pytest.mark.parametrize("door", [ENTRY, EXIT])
def test_open_and_close_each_door(mcu: SerialHost, door: int) -> None:
    assert isinstance(mcu.command(P.OP_OPEN, door), P.Ack)
    mcu.wait_status(lambda s: at(s, door, P.POS_OPEN), what="door open")
    assert isinstance(mcu.command(P.OP_CLOSE, door), P.Ack)
    mcu.wait_status(lambda s: at(s, door, P.POS_CLOSING), what="door closing")
    mcu.wait_status(lambda s: at(s, door, P.POS_CLOSED), what="door closed")


def test_an_obstruction_reverses_the_door_within_one_control_tick(door_rig: DoorRig, mcu: SerialHost) -> None:
    mcu.command(P.OP_OPEN, EXIT)
    mcu.wait_status(lambda s: at(s, EXIT, P.POS_OPEN), what="exit open")
    mcu.command(P.OP_CLOSE, EXIT)
    mcu.wait_status(lambda s: at(s, EXIT, P.POS_CLOSING), what="exit closing")
    with door_rig.lock:
        door_rig.sim.advance_to(door_rig._now())
        placed_ms = door_rig.sim.now
        door_rig.sim.place("hand", DOOR_X[EXIT])
    event = mcu.wait_event(P.EV_OBSTRUCTION)
    assert event.door == EXIT and event.detail == P.OBSTRUCTION_BEAM
    assert 0 <= event.time_ms - placed_ms <= door_rig.sim.cfg.TICK_MS  # seen and reversed in the next tick
    mcu.wait_status(lambda s: at(s, EXIT, P.POS_OPEN), what="exit reopened")


def test_fire_opens_both_doors_and_blocks_closing(door_rig: DoorRig, mcu: SerialHost) -> None:
    mcu.command(P.OP_LOCK, P.DOOR_ALL)
    mcu.wait_status(lambda s: at(s, ENTRY, P.POS_CLOSED) and at(s, EXIT, P.POS_CLOSED), what="both closed")
    door_rig.set_fire(True)
    mcu.wait_event(P.EV_FIRE_ON)
    mcu.wait_status(lambda s: s.fire and at(s, ENTRY, P.POS_OPEN) and at(s, EXIT, P.POS_OPEN), what="both open")
    answer = mcu.command(P.OP_CLOSE, ENTRY)
    assert isinstance(answer, P.Nack) and answer.reason == P.NACK_FIRE_ACTIVE
    door_rig.set_fire(False)
    mcu.wait_event(P.EV_FIRE_OFF)
    assert isinstance(mcu.command(P.OP_CLOSE, ENTRY), P.Ack)


def test_host_silence_gives_the_safe_state(door_rig: DoorRig, mcu: SerialHost) -> None:
    mcu.command(P.OP_OPEN, P.DOOR_ALL)
    mcu.wait_status(lambda s: at(s, ENTRY, P.POS_OPEN) and at(s, EXIT, P.POS_OPEN), what="both open")
    mcu.heartbeats = mcu.ack_events = False  # the host falls silent (it still listens)
    status = mcu.wait_status(lambda s: not s.flags & P.SF_LINK_OK, timeout=5, what="link loss seen by the MCU")
    assert status.flags & P.SF_SAFE_STATE
    mcu.wait_status(lambda s: at(s, EXIT, P.POS_CLOSED) and s.doors[EXIT].locked, what="exit closed and locked")
    mcu.heartbeats = mcu.ack_events = True
    assert mcu.wait_event(P.EV_LINK_TIMEOUT).detail == P.SAFE_RETURN


def test_an_mcu_reset_says_hello_and_the_host_resynchronises(door_rig: DoorRig, mcu: SerialHost) -> None:
    door_rig.reset()
    hello = mcu.wait_for(lambda f: isinstance(f, P.Hello), what="HELLO after reset")
    assert hello.boot_count == 2 and hello.reset_cause == P.RESET_SOFT
    assert mcu.command(P.OP_OPEN, EXIT).reason == P.NACK_NO_SESSION
    mcu.hello()
    assert isinstance(mcu.command(P.OP_OPEN, EXIT), P.Ack)


def test_two_people_in_the_beams_raise_the_event(door_rig: DoorRig, mcu: SerialHost) -> None:
    door_rig.place("a", 0.6)
    door_rig.place("b", 1.4)
    event = mcu.wait_event(P.EV_MORE_THAN_ONE)
    assert event.detail >= 2


def test_a_noisy_link_never_moves_a_door_and_recovers(door_rig: DoorRig, mcu: SerialHost) -> None:
    """Random bytes, truncated and corrupted frames, replayed sequence numbers and a 1% byte error rate
    on everything the host sends: the exit door (closed and locked) must never move."""
    opened_exit = P.Command(P.OP_OPEN, EXIT, seq=0x7000)  # executed once, replayed below
    mcu.command(opened_exit.op, opened_exit.door, seq=opened_exit.seq)
    mcu.seq = P.next_seq(opened_exit.seq)  # sequence numbers only go forward
    mcu.wait_status(lambda s: at(s, EXIT, P.POS_OPEN), what="exit open")
    mcu.command(P.OP_OPEN, ENTRY)
    mcu.command(P.OP_LOCK, EXIT)
    mcu.wait_status(lambda s: at(s, ENTRY, P.POS_OPEN) and at(s, EXIT, P.POS_CLOSED), what="start state")
    random_ = random.Random(5)

    def one_percent(data: bytes) -> bytes:
        out = bytearray(data)
        for i in range(len(out)):
            if random_.random() < 0.01:
                out[i] ^= 1 << random_.randrange(8)
        return bytes(out)

    mcu.noise = one_percent
    drive_log = []
    for round_ in range(150):
        kind = round_ % 5
        if kind == 0:
            mcu.write(bytes(random_.randrange(256) for _ in range(random_.randrange(1, 60))))
        elif kind == 1:
            frame = P.encode(P.Command(P.OP_OPEN, EXIT, seq=mcu.seq))
            mcu.write(frame[: random_.randrange(1, len(frame) - 1)])  # truncated: never a whole frame
        elif kind == 2:
            frame = bytearray(P.encode(P.Command(P.OP_OPEN, EXIT, seq=mcu.seq)))
            frame[random_.randrange(1, len(frame) - 1)] ^= 0x10  # one corrupted bit
            mcu.write(bytes(frame))
        elif kind == 3:
            mcu.send(P.Command(P.OP_REQUEST_STATUS))  # harmless commands, some of them spoilt by the noise
        else:
            mcu.write(P.encode(opened_exit))  # a replay: must not open the exit again
        mcu.pump()
        with door_rig.lock:
            drive_log.append(door_rig.sim.machine.duty(door_rig.sim.cfg.DOORS[EXIT]["pwm"]))
            assert door_rig.sim.door_position(EXIT) == 0.0
    assert not any(drive_log), "the exit motor was driven"
    mcu.noise = None
    answer = mcu.command(P.OP_REQUEST_STATUS)  # the link recovers
    assert isinstance(answer, P.Ack)
    status = mcu.wait_status(lambda s: True, what="a status")
    assert at(status, EXIT, P.POS_CLOSED) and status.doors[EXIT].locked and at(status, ENTRY, P.POS_OPEN)
