"""Firmware in the loop for the host side: the firmware helper's DoorRig (the real firmware logic in real time
behind a pty, simulators/doors/rig.py), a tracing DoorSim, an optional noisy "cable", and the host adapter.

- `TracedSim` records, for every control tick, what each door's motor was driven to do, and when the
  firmware last received bytes from the host: tests check what the doors physically did, in the
  firmware's own milliseconds (immune to a busy machine).
- `NoisyCable` is a second pty pair between the host and the rig with a relay thread that passes the bytes
  through filters (random byte errors, bursts of noise, truncation, replays): noise in the pty path, with
  the rig and the adapter both unchanged.
- `Host` runs SerialDoorController as an asyncio task and collects its events as the daemon would.
Doors travel in 500 ms (1.5 s in the model) to keep the suite short.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
import time
import tty
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from edge.doors.adapter import SerialDoorController
from edge.doors.settings import DoorLinkSettings
from edge.gate.events import Event
from simulators.doors.rig import DoorRig
from simulators.doors.sim import DoorSim

Filter = Callable[[bytes], bytes]
TRAVEL_MS = 500.0


@dataclass(frozen=True)
class Drive:
    """One control tick of one door's motor: direction +1 opening, -1 closing, 0 off."""

    now_ms: int
    door: int
    direction: int
    position: float
    stalled: bool = False  # the leaf pressed against something this tick (motor current at stall)


class TracedSim(DoorSim):
    """DoorSim that keeps a per-tick trace of the motor drive and the time of the last bytes from the host."""

    def __init__(self, **overrides: Any) -> None:
        self.trace: list[Drive] = []
        self.last_from_host_ms: int | None = None
        super().__init__(**overrides)

    def receive(self, data: bytes) -> None:
        self.last_from_host_ms = self.now
        super().receive(data)

    def _step(self, dt: int) -> None:  # DoorSim's per-tick step (a private hook of the simulator)
        super()._step(dt)
        machine = self.machine
        for index, door in enumerate(self.world.doors):
            direction = 0
            if machine is not None and machine.duty(door.spec["pwm"]) > 0:
                direction = 1 if machine.output(door.spec["dir"]) == 1 else -1
            self.trace.append(Drive(self.now, index, direction, door.position, door.stalled))


class Rig:
    """The firmware helper's DoorRig around a TracedSim, with the calls the host tests need."""

    def __init__(self, travel_ms: float = TRAVEL_MS, **overrides: Any) -> None:
        self.sim = TracedSim(**overrides)
        for door in self.sim.world.doors:
            door.travel_ms = travel_ms
        self.door_rig = DoorRig(sim=self.sim)
        self._stopped = False

    def start(self) -> Rig:
        self.door_rig.start()
        return self

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.door_rig.stop()

    @property
    def path(self) -> str:
        return self.door_rig.port

    def call(self, fn: Callable[[DoorSim], Any]) -> Any:
        """Run `fn(sim)` between two control ticks (the firmware does not run meanwhile)."""
        with self.door_rig.lock:
            return fn(self.sim)

    def now_ms(self) -> int:
        return self.call(lambda sim: sim.now)

    @property
    def last_from_host_ms(self) -> int | None:
        return self.call(lambda sim: sim.last_from_host_ms)

    def drives(self, door: int, since_ms: int = 0) -> list[Drive]:
        return self.call(lambda sim: [d for d in sim.trace if d.door == door and d.now_ms >= since_ms])


class NoisyCable:
    """host <-> [pty pair A] <-> relay thread with filters <-> rig's pty. The host opens `path`."""

    def __init__(self, rig_path: str, to_mcu: Filter | None = None, to_host: Filter | None = None) -> None:
        self.to_mcu = to_mcu
        self.to_host = to_host
        self._rig = os.open(rig_path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self._rig)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="noisy-cable", daemon=True)

    def start(self) -> NoisyCable:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(5)
        for fd in (self._rig, self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _run(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._rig, self._master], [], [], 0.01)
            for source, sink, direction in ((self._master, self._rig, "to_mcu"), (self._rig, self._master, "to_host")):
                if source not in readable:
                    continue
                try:
                    data = os.read(source, 4096)
                except OSError:
                    continue
                noise = getattr(self, direction)
                if noise is not None:
                    data = noise(data)
                if data:
                    with contextlib.suppress(OSError):
                        os.write(sink, data)


class Host:
    """The host adapter on a port, run as an asyncio task; events collected as the daemon would."""

    def __init__(self, rig: Rig, port: str | None = None, **settings: Any) -> None:
        self.rig = rig
        self.settings = DoorLinkSettings(port=port or rig.path, **settings)
        self.doors = SerialDoorController(self.settings)
        self.events: list[Event] = []
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.doors.run(self.events.append))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; events: {self.events[-12:]}")
            await asyncio.sleep(0.005)

    async def until_event(self, event: Event, timeout: float = 5.0) -> None:
        await self.until(lambda: event in self.events, timeout, repr(event))

    async def connected(self) -> None:
        await self.until(lambda: self.doors.link.link_up and self.doors.link.firmware is not None, what="link up")


def with_host(
    rig: Rig, scenario: Callable[[Host], Awaitable[None]], port: str | None = None, **settings: Any
) -> Host:
    """Run `scenario(host)` with the adapter running on the rig's pty; the adapter is stopped afterwards."""
    host = Host(rig, port, **settings)

    async def main() -> None:
        host.start()
        try:
            await scenario(host)
        finally:
            await host.stop()

    asyncio.run(main())
    return host
