"""The firmware's control logic, running on the host through the HAL shim and the door physics.

Simulated time: every test is exact, whatever the machine's load."""

from __future__ import annotations

import pytest
from raw_host import RawHost

from firmware import door as door_module
from firmware import protocol as P
from simulators.doors.physics import DOOR_X
from simulators.doors.sim import DoorSim

ENTRY, EXIT = P.DOOR_ENTRY, P.DOOR_EXIT


def position(host: RawHost, door: int) -> int:
    return host.status().doors[door].position


def open_both(host: RawHost) -> None:
    assert isinstance(host.command(P.OP_OPEN, P.DOOR_ALL), P.Ack)
    host.run(2000)
    assert position(host, ENTRY) == position(host, EXIT) == P.POS_OPEN


class TestPowerOn:
    def test_says_hello_with_boot_count_and_cause(self, sim: DoorSim) -> None:
        (hello, *_) = sim.frames()
        assert isinstance(hello, P.Hello)
        assert (hello.role, hello.protocol, hello.boot_count, hello.reset_cause) == (
            P.ROLE_MCU, P.VERSION, 1, P.RESET_POWER_ON
        )  # fmt: skip

    def test_drives_the_doors_to_the_safe_state_before_any_host_frame(self, sim: DoorSim) -> None:
        host = RawHost(sim)
        host.run(2000, heartbeat=False)
        status = host.status()
        assert status.doors[ENTRY].position == P.POS_OPEN  # SAFE_RETURN: a traveller inside can go back
        assert status.doors[EXIT].position == P.POS_CLOSED and status.doors[EXIT].locked
        assert status.flags & P.SF_SAFE_STATE and not status.flags & P.SF_SESSION

    def test_repeats_hello_until_the_host_answers(self, sim: DoorSim) -> None:
        host = RawHost(sim)
        host.run(2500, heartbeat=False)
        assert sum(isinstance(f, P.Hello) for f in host.received) == 3

    def test_refuses_commands_before_a_host_hello(self, sim: DoorSim) -> None:
        host = RawHost(sim)
        answer = host.command(P.OP_CLOSE, ENTRY)
        assert isinstance(answer, P.Nack) and answer.reason == P.NACK_NO_SESSION


class TestDoors:
    @pytest.mark.parametrize("door", [ENTRY, EXIT])
    def test_open_then_close_each_door(self, host: RawHost, door: int) -> None:
        assert isinstance(host.command(P.OP_OPEN, door), P.Ack)
        host.run(100)
        assert position(host, door) == P.POS_OPENING
        host.run(2000)
        assert position(host, door) == P.POS_OPEN
        assert host.sim.door_position(door) == 1.0
        assert isinstance(host.command(P.OP_CLOSE, door), P.Ack)
        host.run(100)
        assert position(host, door) == P.POS_CLOSING
        host.run(2000)
        assert position(host, door) == P.POS_CLOSED
        assert not host.status().doors[door].locked
        assert not host.status().flags & P.SF_SAFE_STATE  # a door command ends the safe state

    def test_lock_closes_then_locks_and_open_releases_first(self, host: RawHost) -> None:
        host.run(2000)
        host.command(P.OP_LOCK, ENTRY)
        host.run(2000)
        entry = host.status().doors[ENTRY]
        assert entry.position == P.POS_CLOSED and entry.locked
        host.command(P.OP_OPEN, ENTRY)
        host.pump()
        assert not host.sim.controller.doors[ENTRY].io.lock.on
        host.run(2000)
        assert position(host, ENTRY) == P.POS_OPEN

    def test_motion_timeout_latches_a_fault_that_refuses_close_until_cleared(self, host: RawHost) -> None:
        host.run(2000)
        host.sim.world.doors[ENTRY].travel_ms = 60_000  # a failing motor: far too slow
        host.command(P.OP_CLOSE, ENTRY)
        host.run(host.sim.cfg.MOTION_TIMEOUT_MS + 200)
        entry = host.status().doors[ENTRY]
        assert entry.fault == P.FAULT_TIMEOUT and entry.position == P.POS_STOPPED
        assert ("door_fault", ENTRY, P.FAULT_TIMEOUT) in [(e.name, e.door, e.detail) for e in host.events]
        answer = host.command(P.OP_CLOSE, ENTRY)
        assert isinstance(answer, P.Nack) and answer.reason == P.NACK_DOOR_FAULT
        assert isinstance(host.command(P.OP_CLEAR_FAULT, ENTRY), P.Ack)
        host.sim.world.doors[ENTRY].travel_ms = 1500
        assert isinstance(host.command(P.OP_CLOSE, ENTRY), P.Ack)
        host.run(2000)
        assert position(host, ENTRY) == P.POS_CLOSED

    @pytest.mark.parametrize(
        ("command", "reason"),
        [
            (P.Command(0x77, ENTRY), P.NACK_UNKNOWN_OP),
            (P.Command(P.OP_OPEN, 5), P.NACK_BAD_DOOR),
            (P.Command(P.OP_SET_SAFE_STATE, P.DOOR_ALL, 9), P.NACK_BAD_ARG),
            (P.Command(P.OP_EMERGENCY, P.DOOR_ALL, 2), P.NACK_BAD_ARG),
        ],
    )
    def test_bad_commands_are_nacked_with_a_reason(self, host: RawHost, command: P.Command, reason: int) -> None:
        answer = host.command(command.op, command.door, command.arg)
        assert isinstance(answer, P.Nack) and answer.reason == reason


class TestAntiPinch:
    def _closing(self, host: RawHost, door: int) -> None:
        open_both(host)
        host.command(P.OP_CLOSE, door)
        host.run(500)
        assert 0.0 < host.sim.door_position(door) < 0.9

    @pytest.mark.parametrize("door", [ENTRY, EXIT])
    def test_a_body_in_the_safety_beam_reverses_the_door_within_one_tick(self, host: RawHost, door: int) -> None:
        self._closing(host, door)
        host.sim.place("child", DOOR_X[door])  # steps into the door plane
        host.sim.advance(host.sim.cfg.TICK_MS)  # ONE control tick
        firmware_door = host.sim.controller.doors[door]
        assert firmware_door.motion == door_module.OPENING
        assert host.sim.machine.output(host.sim.cfg.DOORS[door]["dir"]) == 1  # motor now drives open
        host.pump()
        assert ("obstruction", door, P.OBSTRUCTION_BEAM) in [(e.name, e.door, e.detail) for e in host.events]
        host.run(2000)
        assert position(host, door) == P.POS_OPEN  # opens fully and stays open until commanded

    def test_a_hidden_obstacle_reverses_the_door_by_motor_current(self, host: RawHost) -> None:
        self._closing(host, EXIT)
        host.sim.obstruct(EXIT)
        for _ in range(100):  # the leaf reaches the obstacle, the current rises...
            host.sim.advance(host.sim.cfg.TICK_MS)
            if host.sim.world.doors[EXIT].stalled:
                break
        host.sim.advance(host.sim.cfg.TICK_MS)  # ...and the very next tick reverses it
        assert host.sim.controller.doors[EXIT].motion == door_module.OPENING
        host.pump()
        assert ("obstruction", EXIT, P.OBSTRUCTION_CURRENT) in [(e.name, e.door, e.detail) for e in host.events]
        host.sim.obstruct(EXIT, False)
        host.run(2000)
        assert position(host, EXIT) == P.POS_OPEN


class TestFire:
    def test_fire_opens_both_doors_and_blocks_closing_until_it_clears(self, host: RawHost) -> None:
        host.command(P.OP_LOCK, P.DOOR_ALL)
        host.run(2000)
        host.sim.set_fire(True)
        host.run(2500)
        status = host.status()
        assert status.fire
        assert status.doors[ENTRY].position == status.doors[EXIT].position == P.POS_OPEN
        assert not status.doors[ENTRY].locked and not status.doors[EXIT].locked
        for op in (P.OP_CLOSE, P.OP_LOCK):
            answer = host.command(op, EXIT)
            assert isinstance(answer, P.Nack) and answer.reason == P.NACK_FIRE_ACTIVE
        assert "fire_on" in host.event_names()
        host.sim.set_fire(False)
        host.run(100)
        assert "fire_off" in host.event_names()
        assert position(host, EXIT) == P.POS_OPEN  # stays open until commanded
        assert isinstance(host.command(P.OP_CLOSE, EXIT), P.Ack)
        host.run(2000)
        assert position(host, EXIT) == P.POS_CLOSED

    def test_fire_at_power_on_opens_everything(self) -> None:
        sim = DoorSim()
        sim.set_fire(True)
        sim.reset()
        host = RawHost(sim)
        host.run(2000, heartbeat=False)
        assert position(host, ENTRY) == position(host, EXIT) == P.POS_OPEN

    def test_host_emergency_acts_like_fire(self, host: RawHost) -> None:
        host.command(P.OP_LOCK, P.DOOR_ALL)
        host.run(2000)
        assert isinstance(host.command(P.OP_EMERGENCY, arg=1), P.Ack)
        host.run(2000)
        assert position(host, ENTRY) == position(host, EXIT) == P.POS_OPEN
        assert host.command(P.OP_CLOSE, ENTRY).reason == P.NACK_FIRE_ACTIVE
        host.command(P.OP_EMERGENCY, arg=0)
        assert isinstance(host.command(P.OP_CLOSE, ENTRY), P.Ack)


class TestLinkWatchdog:
    def test_host_silence_beyond_the_timeout_gives_the_safe_state(self, host: RawHost) -> None:
        open_both(host)
        timeout = host.sim.cfg.LINK_TIMEOUT_MS
        host.send(P.Heartbeat())  # the host's last word
        host.run(timeout - 20, heartbeat=False)
        assert host.sim.controller.link_ok  # not yet
        host.run(40, heartbeat=False)  # within one tick of the timeout
        assert not host.sim.controller.link_ok
        host.run(2000, heartbeat=False)
        status = host.status()
        assert status.doors[ENTRY].position == P.POS_OPEN
        assert status.doors[EXIT].position == P.POS_CLOSED and status.doors[EXIT].locked
        assert status.flags & P.SF_SAFE_STATE and not status.flags & P.SF_LINK_OK
        host.run(200)  # the host is back
        assert host.status().flags & P.SF_LINK_OK
        assert ("link_timeout", P.SAFE_RETURN) in [(e.name, e.detail) for e in host.events]

    def test_heartbeats_keep_the_doors_where_the_host_put_them(self, host: RawHost) -> None:
        open_both(host)
        host.run(5000)
        assert position(host, EXIT) == P.POS_OPEN

    def test_the_host_chooses_the_link_loss_safe_state(self, host: RawHost) -> None:
        host.command(P.OP_SET_SAFE_STATE, arg=P.SAFE_LOCKED)
        host.run(3000, heartbeat=False)
        status = host.status()
        assert status.safe_state == P.SAFE_LOCKED
        assert all(d.position == P.POS_CLOSED and d.locked for d in status.doors)

    def test_the_watchdog_survives_the_ticks_ms_wrap(self) -> None:
        sim = DoorSim(start_ms=(1 << 30) - 300)
        host = RawHost(sim)
        host.hello()
        host.run(600)
        assert sim.controller.link_ok
        host.run(1200, heartbeat=False)
        assert not sim.controller.link_ok


class TestSequenceNumbers:
    def test_a_retried_command_is_acknowledged_again_but_not_executed_again(self, host: RawHost) -> None:
        open_both(host)
        first = host.command(P.OP_OPEN, EXIT, seq=500)
        assert isinstance(first, P.Ack)
        host.command(P.OP_CLOSE, EXIT, seq=501)
        host.run(2000)
        assert position(host, EXIT) == P.POS_CLOSED
        again = host.command(P.OP_OPEN, EXIT, seq=500)  # the retry of a lost ACK, arriving late
        assert isinstance(again, P.Ack) and again.acked_seq == 500
        host.run(2000)
        assert position(host, EXIT) == P.POS_CLOSED  # not re-executed

    def test_a_nack_is_remembered_too(self, host: RawHost) -> None:
        host.sim.set_fire(True)
        host.run(100)
        assert host.command(P.OP_CLOSE, EXIT, seq=700).reason == P.NACK_FIRE_ACTIVE
        host.sim.set_fire(False)
        host.run(100)
        assert host.command(P.OP_CLOSE, EXIT, seq=700).reason == P.NACK_FIRE_ACTIVE  # same answer

    def test_a_replay_older_than_the_window_is_refused(self, host: RawHost) -> None:
        host.command(P.OP_OPEN, EXIT, seq=1000)
        for seq in range(1001, 1001 + 40):
            host.send(P.Heartbeat(seq=seq))
            host.command(P.OP_REQUEST_STATUS, seq=seq + 2000)
        answer = host.command(P.OP_OPEN, EXIT, seq=1000)
        assert isinstance(answer, P.Nack) and answer.reason == P.NACK_STALE_SEQ

    def test_a_superseded_command_arriving_late_never_acts(self, host: RawHost) -> None:
        open_both(host)
        host.command(P.OP_CLOSE, EXIT, seq=601)  # the host's later decision; its OPEN 600 never arrived...
        host.run(2000)
        late = host.command(P.OP_OPEN, EXIT, seq=600)  # ...until now (a delayed or replayed copy)
        assert isinstance(late, P.Nack) and late.reason == P.NACK_STALE_SEQ
        host.run(2000)
        assert position(host, EXIT) == P.POS_CLOSED

    def test_a_new_host_session_starts_a_new_window(self, host: RawHost) -> None:
        host.command(P.OP_OPEN, EXIT, seq=9000)
        host.session += 1
        host.hello()
        assert isinstance(host.command(P.OP_CLOSE, EXIT, seq=5), P.Ack)

    def test_events_are_resent_until_acknowledged(self, sim: DoorSim) -> None:
        silent = RawHost(sim)
        silent.hello()
        sim.set_fire(True)
        sim.advance(350)  # the host reads nothing and acks nothing
        fire_events = [f for f in sim.frames() if isinstance(f, P.Event) and f.code == P.EV_FIRE_ON]
        assert len(fire_events) >= 3 and len({e.seq for e in fire_events}) == 1
        silent.run(300)  # now it acks
        silent.received.clear()
        silent.run(300)
        assert not [f for f in silent.received if isinstance(f, P.Event) and f.code == P.EV_FIRE_ON]
        assert silent.event_names().count("fire_on") == 1


class TestResets:
    def test_a_reset_says_hello_again_and_needs_a_new_session(self, host: RawHost) -> None:
        host.run(100)
        host.sim.reset()
        host.pump()
        hello = [f for f in host.received if isinstance(f, P.Hello)][-1]
        assert hello.boot_count == 2 and hello.reset_cause == P.RESET_SOFT
        assert host.command(P.OP_OPEN, EXIT).reason == P.NACK_NO_SESSION
        host.hello()
        assert isinstance(host.command(P.OP_OPEN, EXIT), P.Ack)

    def test_power_loss_stops_the_motors_and_reboots_into_the_safe_state(self, host: RawHost) -> None:
        host.command(P.OP_OPEN, P.DOOR_ALL)
        host.run(500)
        moving = host.sim.door_position(EXIT)
        host.sim.power_loss(300)
        host.sim.advance(200)
        assert host.sim.door_position(EXIT) == moving and not host.sim.frames()
        host.run(2500)
        hello = [f for f in host.received if isinstance(f, P.Hello)][-1]
        assert hello.reset_cause == P.RESET_POWER_ON
        assert host.status().doors[EXIT].position == P.POS_CLOSED  # safe state again

    def test_a_hung_loop_is_reset_by_the_hardware_watchdog(self, host: RawHost) -> None:
        host.sim.hang()
        host.sim.advance(host.sim.cfg.WDT_TIMEOUT_MS + 50)
        host.pump()
        hello = [f for f in host.received if isinstance(f, P.Hello)][-1]
        assert hello.reset_cause == P.RESET_WATCHDOG and hello.boot_count == 2


class TestSafeStateWithoutHost:
    def test_a_door_reversed_by_an_obstruction_is_closed_again_once_clear(self, host: RawHost) -> None:
        open_both(host)
        host.sim.place("lingerer", DOOR_X[EXIT])  # stands in the exit doorway as the host falls silent
        host.run(1500, heartbeat=False)
        assert host.sim.door_position(EXIT) == 1.0  # could not close
        host.sim.remove("lingerer")
        host.run(host.sim.cfg.SAFE_RETRY_MS + 2000, heartbeat=False)
        assert host.sim.door_position(EXIT) == 0.0 and host.sim.controller.doors[EXIT].io.lock.on

    def test_after_a_fire_without_host_the_safe_state_returns(self, sim: DoorSim) -> None:
        sim.set_fire(True)
        sim.advance(2000)
        assert sim.door_position(EXIT) == 1.0
        sim.set_fire(False)
        sim.advance(sim.cfg.SAFE_RETRY_MS + 2000)
        assert sim.door_position(EXIT) == 0.0 and sim.controller.doors[EXIT].io.lock.on

    def test_with_a_host_the_firmware_does_not_reclose_on_its_own(self, host: RawHost) -> None:
        host.sim.set_fire(True)
        host.run(2000)
        host.sim.set_fire(False)
        host.run(host.sim.cfg.SAFE_RETRY_MS + 2000)
        assert host.sim.door_position(EXIT) == 1.0
