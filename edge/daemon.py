"""The gate daemon: runs the pure gate core against the devices, on one asyncio loop.

    devices --emit(event)--> queue --> Gate.handle(event, now) --> actions --> devices / telemetry
                                       Gate.tick(now) at its deadline

The daemon owns no policy: the core decides, the daemon carries out. It holds the chip portrait only
between DocumentAuthenticated and the end of the face step, then drops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge import ports
from edge.gate import events as ev
from edge.gate.actions import (
    AcceptDocuments,
    Action,
    CommandResult,
    DoorCommand,
    DoorOp,
    Ignored,
    PublishRecord,
    PublishState,
    RaiseAlarm,
    SetLights,
    ShowMessage,
    SoundBuzzer,
    StartFaceCapture,
    State,
    StopFaceCapture,
)
from edge.gate.events import Door
from edge.gate.machine import Gate
from edge.systemd import Notifier

log = logging.getLogger("edge.daemon")
STOP_TIMEOUT_S = 5.0  # how long devices get to stop before the daemon exits without them


class Clock:
    """Wall-clock seconds that never jump: anchored to time.time() once, advanced by time.monotonic()."""

    def __init__(self) -> None:
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0)


@dataclass
class Devices:
    document: ports.DocumentReader
    face: ports.FaceVerifier
    doors: ports.DoorController
    panel: ports.Panel
    display: ports.TravellerDisplay
    telemetry: ports.Telemetry

    def all(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "face": self.face,
            "doors": self.doors,
            "panel": self.panel,
            "display": self.display,
            "telemetry": self.telemetry,
        }


@dataclass
class Stats:
    """Counters the daemon keeps for metrics and the watchdog (no personal data)."""

    events: int = 0
    last_loop_lag_s: float = 0.0
    started_at: float = field(default_factory=time.monotonic)
    transactions: int = 0


class DeviceFailed(RuntimeError):
    """A device task ended unexpectedly: the daemon stops so its supervisor (systemd) restarts it."""


class GateDaemon:
    def __init__(
        self,
        gate: Gate,
        devices: Devices,
        *,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
        watchdog_interval_s: float | None = None,
    ) -> None:
        self.gate = gate
        self.devices = devices
        self.notifier = notifier or Notifier()
        self.clock = clock or Clock()
        self.stats = Stats()
        self._watchdog_interval = watchdog_interval_s or self.notifier.watchdog_interval_s
        self._queue: asyncio.Queue[ev.Event] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._portrait: Any = None
        self._doors = {door.value: ev.DoorPosition.UNKNOWN.value for door in Door}
        self._last_state: PublishState | None = None
        self._observers: list[Callable[[ev.Event | None, list[Action]], None]] = []
        self.ready = asyncio.Event()

    # --- the seam devices call ------------------------------------------------------------------------------

    def emit(self, event: ev.Event) -> None:
        """Queue an event; safe to call from any thread."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the daemon is not running")
        if threading.get_ident() == self._loop_thread:
            self._queue.put_nowait(event)
        else:
            loop.call_soon_threadsafe(self._queue.put_nowait, event)

    def observe(self, callback: Callable[[ev.Event | None, list[Action]], None]) -> None:
        """Call `callback(event, actions)` after each event, and with event None after a timeout's actions
        (simulators and tests watch the gate this way)."""
        self._observers.append(callback)

    # --- main loop ------------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        tasks = {
            asyncio.create_task(device.run(self.emit), name=f"device:{name}"): name
            for name, device in self.devices.all().items()
        }
        watchdog = asyncio.create_task(self._watchdog(), name="watchdog")
        stopper = asyncio.create_task(stop.wait(), name="stop")
        await asyncio.sleep(0)  # let every device task start before the gate commands the first actions
        try:
            self._carry_out(self.gate.start(self.clock.now()))
            self.notifier.ready(f"{self.gate.state.value}")
            self.ready.set()
            log.info("gate ready", extra={"fields": {"state": self.gate.state.value}})
            await self._process(stop, set(tasks), tasks)
        finally:
            self.notifier.stopping()
            self._shutdown_doors()
            for task in (*tasks, watchdog, stopper):
                task.cancel()
            _, stuck = await asyncio.wait({*tasks, watchdog, stopper}, timeout=STOP_TIMEOUT_S)
            for task in stuck:  # say which device will not stop rather than hang the shutdown
                log.error("%s did not stop within %.0f s", task.get_name(), STOP_TIMEOUT_S)
            self._portrait = None

    async def _process(self, stop: asyncio.Event, device_tasks: set[asyncio.Task], names: dict) -> None:
        while not stop.is_set():
            deadline = self.gate.deadline
            timeout = None if deadline is None else max(0.0, deadline - self.clock.now())
            getter = asyncio.ensure_future(self._queue.get())
            stop_waiter = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait(
                {getter, stop_waiter, *device_tasks}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            stop_waiter.cancel()
            for task in device_tasks & done:
                why = "cancelled" if task.cancelled() else repr(task.exception())
                raise DeviceFailed(f"device {names[task]} stopped: {why}")
            if getter in done:
                self._handle(getter.result())
                while not self._queue.empty():  # drain what arrived meanwhile, in order
                    self._handle(self._queue.get_nowait())
            else:
                getter.cancel()
            actions = self.gate.tick(self.clock.now())
            if actions:
                self._carry_out(actions)
                self._notify_observers(None, actions)

    def _handle(self, event: ev.Event) -> None:
        self.stats.events += 1
        if isinstance(event, ev.DocumentAuthenticated):
            self._portrait = event.portrait
        elif isinstance(event, ev.DoorStateChanged):
            self._doors[event.door.value] = event.position.value
        actions = self.gate.handle(event, self.clock.now())
        self._carry_out(actions)
        if isinstance(event, ev.DoorStateChanged) and self._last_state is not None:
            self.devices.telemetry.publish_state(self._last_state, dict(self._doors))
        self._notify_observers(event, actions)

    def _notify_observers(self, event: ev.Event | None, actions: list[Action]) -> None:
        for observer in self._observers:
            observer(event, actions)

    # --- carrying out actions ------------------------------------------------------------------------------

    def _carry_out(self, actions: list[Action]) -> None:
        for action in actions:
            try:
                self._dispatch(action)
            except Exception:  # one device failing must not stop the others from being told
                log.exception("action %s failed", type(action).__name__)

    def _dispatch(self, action: Action) -> None:
        d = self.devices
        match action:
            case DoorCommand(door=door, op=op):
                d.doors.command(door, op)
            case SetLights(entry=entry, exit=exit_):
                d.panel.set_lights(entry, exit_)
            case SoundBuzzer(pattern=pattern):
                d.panel.sound(pattern)
            case ShowMessage(message=message, progress=progress):
                d.display.show(message, progress)
            case AcceptDocuments(accept=accept):
                d.document.accept_documents(accept)
            case StartFaceCapture(transaction_id=txn):
                d.face.start(txn, self._portrait)
            case StopFaceCapture():
                d.face.stop()
                self._portrait = None
            case PublishState():
                self._last_state = action
                d.telemetry.publish_state(action, dict(self._doors))
                self.notifier.status(action.state.value)
                log.info("state %s", action.state.value, extra={"fields": _state_fields(action)})
            case PublishRecord(record=record):
                self._portrait = None
                self.stats.transactions += 1
                d.telemetry.publish_record(record)
                log.info(
                    "transaction %s",
                    record.outcome.value,
                    extra={"fields": {"transaction_id": record.transaction_id, "reason": record.reason}},
                )
            case RaiseAlarm(alarm=alarm):
                d.telemetry.publish_alarm(alarm)
                log.warning(
                    "alarm %s %s",
                    alarm.kind.value,
                    "raised" if alarm.active else "cleared",
                    extra={"fields": {"alarm": alarm.kind.value, "reason": alarm.reason}},
                )
            case CommandResult():
                d.telemetry.command_result(action)
            case Ignored():
                log.debug("ignored %s in %s", action.event, action.state.value)
            case _:
                log.error("no device for action %r", action)

    def _shutdown_doors(self) -> None:
        """On a clean stop leave the doors as the gate's safe state wants them: open in an emergency, else
        locked. (If the daemon dies instead, the firmware's link watchdog takes over within a second.)"""
        op = DoorOp.OPEN if self.gate.state is State.EMERGENCY else DoorOp.LOCK
        for door in Door:
            try:
                self.devices.doors.command(door, op)
            except Exception:
                log.exception("could not command %s door on shutdown", door.value)

    # --- health ----------------------------------------------------------------------------------------------

    async def _watchdog(self) -> None:
        """Pet systemd's watchdog only while the loop is responsive and the door link is healthy."""
        interval = (self._watchdog_interval or 10.0) / 2
        was_healthy = True
        while True:
            started = time.monotonic()
            await asyncio.sleep(interval)
            self.stats.last_loop_lag_s = max(0.0, time.monotonic() - started - interval)
            healthy, why = self.health()
            if healthy and self._watchdog_interval:
                self.notifier.watchdog()
            if healthy != was_healthy:  # log changes, not every tick
                if healthy:
                    log.info("healthy again")
                else:
                    log.warning("unhealthy, not petting the watchdog: %s", why)
                was_healthy = healthy

    def health(self) -> tuple[bool, str]:
        if self.stats.last_loop_lag_s > 1.0:
            return False, f"event loop lagging {self.stats.last_loop_lag_s:.1f} s"
        doors = self.devices.doors.health()
        if not doors.ok:
            return False, f"door link: {doors.detail}"
        return True, ""


def _state_fields(state: PublishState) -> dict[str, str]:
    fields = {"state": state.state.value, "mode": state.mode}
    if state.transaction_id:
        fields["transaction_id"] = state.transaction_id
    return fields


async def serve(daemon: GateDaemon) -> None:
    """Run until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await daemon.run(stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)


def run_from_config(path: str) -> int:
    """`echannel run`: load the configuration, build the real devices, run until told to stop."""
    import sys

    from edge import logs
    from edge.config import ConfigError, load_config

    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{path}: {problem}", file=sys.stderr)
        return 2
    logs.configure(config.logging.level, config.logging.format)
    from edge.wiring import DeviceUnavailable, build_devices

    try:
        devices = build_devices(config, path)
    except DeviceUnavailable as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 3
    gate = Gate(config.gate.timeouts.to_timeouts(), start_in_service=config.gate.start_in_service)
    try:
        asyncio.run(serve(GateDaemon(gate, devices)))
    except DeviceFailed as exc:
        log.error("%s", exc)
        return 1
    return 0
