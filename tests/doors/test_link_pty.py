"""Firmware in the loop over a real pty: the host adapter (pyserial) talks to the real firmware logic.

Each test states a behaviour of the whole link: what the gate is told, and what the doors physically did
(the rig traces the motor drive of every control tick, in simulated milliseconds).
"""

from __future__ import annotations

import asyncio

from door_rig import Host, NoisyCable, Rig, with_host

from edge.doors.link import CommandRefused, LinkDown, McuHello, SensorNotice
from edge.gate.actions import DoorOp
from edge.gate.events import (
    Door,
    DoorPosition,
    DoorStateChanged,
    FireAlarmOn,
    LinkLost,
    LinkRestored,
    MoreThanOnePerson,
    Sensor,
)
from firmware import protocol as P
from simulators.doors.physics import DOOR_X

INDEX = {Door.ENTRY: P.DOOR_ENTRY, Door.EXIT: P.DOOR_EXIT}


def position(rig: Rig, door: Door) -> float:
    return rig.call(lambda sim: sim.door_position(INDEX[door]))


async def move(host: Host, door: Door, op: DoorOp, reached: DoorPosition) -> None:
    """Command `door` and wait until the gate has been told it is at `reached` (it may be there already)."""
    host.events.clear()
    host.doors.command(door, op)
    await host.until(
        lambda: host.doors.link.in_flight == 0 and host.doors.link.positions.get(door) is reached,
        what=f"{door} {reached}",
    )


def test_each_door_opens_and_closes_on_command(rig):
    async def scenario(host: Host) -> None:
        await host.connected()
        for door in Door:  # from the power-on safe state (entry open, exit locked) to both locked
            await move(host, door, DoorOp.LOCK, DoorPosition.CLOSED)
        for door in Door:
            await move(host, door, DoorOp.OPEN, DoorPosition.OPEN)
            assert DoorStateChanged(door, DoorPosition.OPENING) in host.events
            assert position(rig, door) == 1.0
            await move(host, door, DoorOp.LOCK, DoorPosition.CLOSED)
            assert DoorStateChanged(door, DoorPosition.CLOSING) in host.events
            assert position(rig, door) == 0.0
            assert rig.call(lambda sim, door=door: sim.controller.status().doors[INDEX[door]].locked)
        assert host.doors.health().ok and host.doors.link.counters.acks >= 4

    with_host(rig, scenario)


def test_commands_from_another_thread_are_carried_out_on_the_event_loop(rig):
    async def scenario(host: Host) -> None:
        await host.connected()
        await asyncio.to_thread(host.doors.command, Door.EXIT, DoorOp.OPEN)
        await host.until(lambda: position(rig, Door.EXIT) == 1.0, what="exit open")
        assert host.doors.link.counters.acks >= 1

    with_host(rig, scenario)


def test_an_obstruction_reverses_the_closing_door_within_one_control_tick(rig):
    async def scenario(host: Host) -> None:
        await host.connected()
        await move(host, Door.ENTRY, DoorOp.OPEN, DoorPosition.OPEN)
        host.doors.command(Door.ENTRY, DoorOp.CLOSE)
        await host.until(lambda: position(rig, Door.ENTRY) < 0.7, what="entry closing")

        def step_into_the_doorway(sim):  # between two ticks: the safety beam breaks now
            sim.place("child", DOOR_X[0])
            return sim.now

        host.events.clear()
        broken_at = rig.call(step_into_the_doorway)
        await host.until_event(DoorStateChanged(Door.ENTRY, DoorPosition.OPEN))
        drives = rig.drives(P.DOOR_ENTRY, since_ms=broken_at + 1)
        first = drives[0]
        assert first.now_ms <= broken_at + rig.sim.cfg.TICK_MS and first.direction == 1  # reversed at once
        assert all(d.direction >= 0 for d in drives)  # and never closes on the child again
        assert DoorStateChanged(Door.ENTRY, DoorPosition.OPENING) in host.events

    with_host(rig, scenario)


def test_an_obstacle_only_the_motor_current_notices_reverses_the_door_within_one_tick(rig):
    async def scenario(host: Host) -> None:
        await host.connected()
        await move(host, Door.EXIT, DoorOp.OPEN, DoorPosition.OPEN)
        since = rig.now_ms()
        rig.call(lambda sim: sim.obstruct(P.DOOR_EXIT))  # a bag strap the safety beam does not see
        host.doors.command(Door.EXIT, DoorOp.CLOSE)
        await host.until(lambda: SensorNotice("obstruction", "exit", P.OBSTRUCTION_CURRENT) in host.doors.notices)
        await host.until(lambda: host.doors.link.positions.get(Door.EXIT) is DoorPosition.OPEN, what="reopened")
        drives = rig.drives(P.DOOR_EXIT, since_ms=since)
        stall = next(d for d in drives if d.stalled)
        reverse = next(d for d in drives if d.now_ms > stall.now_ms and d.direction == 1)
        assert reverse.now_ms - stall.now_ms <= rig.sim.cfg.TICK_MS
        assert DoorStateChanged(Door.EXIT, DoorPosition.OPENING) in host.events

    with_host(rig, scenario)


def test_the_fire_alarm_opens_both_doors_and_blocks_closing(rig):
    async def scenario(host: Host) -> None:
        await host.connected()
        for door in Door:
            await move(host, door, DoorOp.LOCK, DoorPosition.CLOSED)
        rig.call(lambda sim: sim.set_fire(True))
        await host.until_event(FireAlarmOn())
        await host.until(
            lambda: all(host.doors.link.positions.get(door) is DoorPosition.OPEN for door in Door), what="both open"
        )
        assert position(rig, Door.ENTRY) == 1.0 and position(rig, Door.EXIT) == 1.0
        since = rig.now_ms()
        host.events.clear()
        host.doors.command(Door.EXIT, DoorOp.CLOSE)
        await host.until(lambda: CommandRefused(Door.EXIT, DoorOp.CLOSE, "fire_active") in host.doors.notices)
        await asyncio.sleep(0.3)
        assert all(d.direction >= 0 for d in rig.drives(P.DOOR_EXIT, since_ms=since))  # never driven closed
        assert position(rig, Door.EXIT) == 1.0
        assert host.events == []  # a refusal under fire is no door fault

    with_host(rig, scenario)


def test_host_silence_beyond_the_timeout_puts_the_doors_in_the_safe_state(rig):
    async def scenario(host: Host) -> None:
        await host.connected()
        await move(host, Door.ENTRY, DoorOp.LOCK, DoorPosition.CLOSED)
        await move(host, Door.EXIT, DoorOp.LOCK, DoorPosition.CLOSED)
        await host.stop()  # the daemon dies: nothing more on the line

    with_host(rig, scenario)
    silent_from = rig.last_from_host_ms
    limit_ms = rig.sim.cfg.LINK_TIMEOUT_MS

    async def wait_for_safe_state() -> None:
        for _ in range(300):
            if position(rig, Door.ENTRY) == 1.0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the entry door did not open")

    asyncio.run(wait_for_safe_state())
    opening = [d for d in rig.drives(P.DOOR_ENTRY, since_ms=silent_from) if d.direction == 1]
    # the watchdog fires after LINK_TIMEOUT_MS; the lock bolt is given LOCK_RELEASE_MS before the motor pulls
    cfg = rig.sim.cfg
    assert limit_ms <= opening[0].now_ms - silent_from <= limit_ms + cfg.LOCK_RELEASE_MS + 2 * cfg.TICK_MS
    # SAFE_RETURN: the entry opens (a traveller inside can go back), the exit stays closed and locked
    assert position(rig, Door.EXIT) == 0.0
    assert rig.call(lambda sim: sim.controller.status().doors[P.DOOR_EXIT].locked)


def test_after_an_mcu_reset_the_host_resynchronises_and_restores_the_doors(rig):
    async def scenario(host: Host) -> None:
        await host.connected()
        await move(host, Door.ENTRY, DoorOp.LOCK, DoorPosition.CLOSED)
        await move(host, Door.EXIT, DoorOp.LOCK, DoorPosition.CLOSED)
        boot = host.doors.link.mcu_boot
        host.events.clear()
        rig.call(lambda sim: sim.reset())  # power-on safe state (RETURN) starts opening the entry
        await host.until(lambda: host.doors.link.counters.mcu_restarts == 1, what="resync")
        assert host.doors.link.mcu_boot == boot + 1
        # the host asked again for what the gate wants: both doors closed and locked
        await host.until(lambda: position(rig, Door.ENTRY) == 0.0 and host.doors.link.in_flight == 0, what="closed")
        await asyncio.sleep(0.1)
        status = rig.call(lambda sim: sim.controller.status())
        assert status.flags & P.SF_SESSION and all(d.locked for d in status.doors)
        assert LinkLost() not in host.events  # a quick reset is no link loss

    host = with_host(rig, scenario)
    assert [n.boot_count for n in host.doors.notices if isinstance(n, McuHello) and n.restarted] == [2]


def test_a_power_loss_longer_than_the_link_timeout_is_a_lost_link_then_a_resync(rig):
    async def scenario(host: Host) -> None:
        await host.connected()
        await move(host, Door.ENTRY, DoorOp.LOCK, DoorPosition.CLOSED)
        host.events.clear()
        rig.call(lambda sim: sim.power_loss(1500))
        await host.until_event(LinkLost(), timeout=3)
        await host.until_event(LinkRestored(), timeout=3)
        await host.until(lambda: host.doors.link.counters.mcu_restarts == 1, what="resync")
        # back from its power-on safe state (entry opening) to what the gate wants
        await host.until(lambda: position(rig, Door.ENTRY) == 0.0 and host.doors.link.in_flight == 0, what="closed")

    with_host(rig, scenario)


def test_two_people_in_the_compartment_raise_more_than_one_person(rig):
    async def scenario(host: Host) -> None:
        await host.connected()

        def two_travellers(sim):
            sim.place("a", 0.5)
            sim.place("b", 1.4)

        rig.call(two_travellers)
        await host.until_event(MoreThanOnePerson(sensor=Sensor.BEAMS))

    with_host(rig, scenario)


def test_a_port_that_vanishes_and_comes_back_is_reopened(tmp_path):
    """The device node goes away (USB unplug) and comes back at the same path (like /dev/serial/by-id/...)."""
    path = tmp_path / "door-controller"
    first = Rig().start()
    path.symlink_to(first.path)
    rigs = [first]

    async def scenario(host: Host) -> None:
        await host.connected()
        await move(host, Door.ENTRY, DoorOp.LOCK, DoorPosition.CLOSED)
        first.stop()  # unplugged
        path.unlink()
        await host.until_event(LinkLost(), timeout=3)
        health = host.doors.health()
        assert not health.ok and host.doors.port_failures >= 1 and "closed" in health.detail
        second = Rig().start()  # plugged in again: a fresh board, in its power-on safe state
        rigs.append(second)
        path.symlink_to(second.path)
        await host.until_event(LinkRestored(), timeout=8)
        # the adapter said HELLO on the new port and asked again for the entry door locked
        await host.until(lambda: second.call(lambda sim: sim.door_position(0)) == 0.0, what="entry closed again")
        # and the gate hears the new board (its sequence numbers started again)
        await host.until(lambda: host.doors.link.positions.get(Door.ENTRY) is DoorPosition.CLOSED, what="told")
        assert host.doors.port_opens == 2 and host.doors.health().ok

    try:
        with_host(first, scenario, port=str(path), link_timeout_s=0.5)
    finally:
        for rig in rigs:
            rig.stop()


def test_a_cut_transmit_line_is_a_lost_link_although_the_mcu_still_talks(rig):
    """One-way failure: the host's bytes no longer reach the MCU, whose watchdog applies the safe state; the
    MCU keeps sending STATUS without LINK_OK, and the gate is told. Mending the line restores the doors."""
    cut = {"on": False}
    cable = NoisyCable(rig.path, to_mcu=lambda data: b"" if cut["on"] else data).start()

    async def scenario(host: Host) -> None:
        await host.connected()
        for door in Door:
            await move(host, door, DoorOp.LOCK, DoorPosition.CLOSED)
        host.events.clear()
        cut["on"] = True
        await host.until_event(LinkLost(), timeout=4)
        assert LinkDown("mcu_deaf") in host.doors.notices
        assert "does not hear this host" in host.doors.health().detail
        assert rig.call(lambda sim: not sim.controller.link_ok)  # the firmware's watchdog fired
        cut["on"] = False
        await host.until_event(LinkRestored(), timeout=3)
        await host.until(lambda: position(rig, Door.ENTRY) == 0.0 and host.doors.link.in_flight == 0, what="relocked")

    try:
        with_host(rig, scenario, port=cable.path)
    finally:
        cable.stop()
