"""The daemon carries out the core's decisions on the devices, tells systemd how it is, and stops safely."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import load_config
from edge.daemon import DeviceFailed, GateDaemon
from edge.gate.actions import DoorOp, State
from edge.gate.events import Door
from edge.gate.machine import Gate
from edge.ports import Health
from edge.systemd import Notifier
from simulators.gate import GateWatch, InProcessRig, send_traveller
from simulators.scenarios import SCENARIOS

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config(REPO / "config" / "simulated.toml", check_devices=False)


class NotifySocket:
    """A real datagram socket standing in for systemd's $NOTIFY_SOCKET."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = str(tmp_path / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)

    def messages(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return out


async def start(rig: InProcessRig, **kwargs) -> tuple[GateDaemon, asyncio.Event, asyncio.Task]:
    daemon = GateDaemon(Gate(CONFIG.gate.timeouts.to_timeouts()), rig.devices(), **kwargs)
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    await asyncio.wait_for(daemon.ready.wait(), 5)
    return daemon, stop, task


def test_a_genuine_traveller_clears_and_the_portrait_is_dropped_afterwards():
    async def scenario():
        rig = InProcessRig(CONFIG)
        daemon, stop, task = await start(rig)
        watch = GateWatch(daemon)
        record = await send_traveller(rig, watch, SCENARIOS["genuine_td1"], timeout=10)
        assert (record.outcome.value, record.reason) == ("cleared", "ok")
        assert rig.face.portraits_seen == ["portrait-of-genuine_td1"]
        assert daemon._portrait is None  # biometric data lives only for one transaction
        assert rig.telemetry.records == [record]
        stop.set()
        await task
        # A clean stop leaves both doors locked.
        assert rig.doors.commands[-2:] == [(Door.ENTRY, DoorOp.LOCK), (Door.EXIT, DoorOp.LOCK)]

    asyncio.run(scenario())


def test_systemd_hears_ready_status_watchdog_and_stopping(tmp_path):
    notify = NotifySocket(tmp_path)

    async def scenario():
        rig = InProcessRig(CONFIG)
        notifier = Notifier({"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "100000"})
        _daemon, stop, task = await start(rig, notifier=notifier)
        await asyncio.sleep(0.3)
        healthy = notify.messages()
        # The door link fails: the watchdog must go quiet so systemd restarts us.
        rig.doors.health = lambda: Health(ok=False, detail="no frame for 2 s")
        await asyncio.sleep(0.15)
        notify.messages()
        await asyncio.sleep(0.3)
        unhealthy = notify.messages()
        stop.set()
        await task
        return healthy, unhealthy, notify.messages()

    healthy, unhealthy, stopping = asyncio.run(scenario())
    assert "READY=1\nSTATUS=idle" in healthy
    assert "WATCHDOG=1" in healthy
    assert "WATCHDOG=1" not in unhealthy
    assert stopping[-1] == "STOPPING=1"


def test_outside_systemd_the_notifier_is_silent():
    notifier = Notifier({})
    assert not notifier.enabled
    notifier.ready("idle")  # no socket, no error


def test_a_device_that_dies_stops_the_daemon_with_doors_locked():
    async def scenario():
        rig = InProcessRig(CONFIG)

        async def broken_run(emit):
            emit  # noqa: B018 - the device starts, then fails
            raise OSError("camera unplugged")

        rig.face.run = broken_run
        daemon = GateDaemon(Gate(CONFIG.gate.timeouts.to_timeouts()), rig.devices())
        with pytest.raises(DeviceFailed, match="device face stopped: OSError"):
            await daemon.run(asyncio.Event())
        return rig

    rig = asyncio.run(scenario())
    assert rig.doors.commands[-2:] == [(Door.ENTRY, DoorOp.LOCK), (Door.EXIT, DoorOp.LOCK)]


def test_in_an_emergency_a_stop_leaves_the_doors_open():
    async def scenario():
        rig = InProcessRig(CONFIG)
        daemon, stop, task = await start(rig)
        rig.panel.fire_alarm(True)
        await asyncio.sleep(0.05)
        assert daemon.gate.state is State.EMERGENCY
        stop.set()
        await task
        return rig

    rig = asyncio.run(scenario())
    assert rig.doors.commands[-2:] == [(Door.ENTRY, DoorOp.OPEN), (Door.EXIT, DoorOp.OPEN)]


def test_events_from_other_threads_are_queued_safely():
    async def scenario():
        rig = InProcessRig(CONFIG)
        daemon, stop, task = await start(rig)
        from edge.gate import events as ev

        await asyncio.to_thread(daemon.emit, ev.OutOfService(command_id="from-thread"))
        await asyncio.sleep(0.05)
        state = daemon.gate.state
        stop.set()
        await task
        return state, rig.telemetry.results

    state, results = asyncio.run(scenario())
    assert state is State.OUT_OF_SERVICE
    assert [(r.command_id, r.accepted) for r in results] == [("from-thread", True)]


def test_simulate_sends_fifty_travellers_and_exits_0():
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "simulate", "--in-process", "--travellers", "50"],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "50 travellers in" in result.stdout
    assert "50 as expected, 0 unexpected" in result.stdout


def test_sigterm_stops_the_daemon_cleanly_with_doors_locked():
    import signal

    from edge.daemon import serve

    async def scenario():
        rig = InProcessRig(CONFIG)
        daemon = GateDaemon(Gate(CONFIG.gate.timeouts.to_timeouts()), rig.devices())
        task = asyncio.create_task(serve(daemon))
        await asyncio.wait_for(daemon.ready.wait(), 5)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 5)
        return rig

    rig = asyncio.run(scenario())
    assert rig.doors.commands[-2:] == [(Door.ENTRY, DoorOp.LOCK), (Door.EXIT, DoorOp.LOCK)]
