"""Firmware in the loop: the real firmware (DoorSim) behind a real pty, in real time, and the host adapter.

`PtyRig` runs DoorSim on a thread: bytes from the pty go to the firmware at the current simulated time,
the firmware's bytes go back, and every control tick is traced (motor drive per door) so tests can check
what the doors physically did. Optional filters on each direction inject noise. Doors travel faster than
the real 1.5 s (set per rig) so the suite stays short.
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
from simulators.doors.sim import DoorSim

Filter = Callable[[bytes], bytes]


@dataclass(frozen=True)
class Drive:
    """One control tick of one door's motor: direction +1 opening, -1 closing, 0 off."""

    now_ms: int
    door: int
    direction: int
    position: float


class PtyRig:
    def __init__(self, travel_ms: float = 500.0, **overrides: Any) -> None:
        self.sim = DoorSim(**overrides)
        for door in self.sim.world.doors:
            door.travel_ms = travel_ms
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.lock = threading.RLock()
        self.to_mcu: Filter | None = None
        self.to_host: Filter | None = None
        self.trace: list[Drive] = []
        self.last_from_host_ms: int | None = None
        self.bytes_to_host = 0
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="pty-rig", daemon=True)

    def start(self) -> PtyRig:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stop.is_set():
            return  # closing the fds twice could close someone else's (fd numbers are reused)
        self._stop.set()
        self._thread.join(5)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def call(self, fn: Callable[[DoorSim], Any]) -> Any:
        """Run `fn(sim)` between two control ticks (the firmware does not run meanwhile)."""
        with self.lock:
            return fn(self.sim)

    def now_ms(self) -> int:
        with self.lock:
            return self.sim.now

    def drives(self, door: int, since_ms: int = 0) -> list[Drive]:
        with self.lock:
            return [d for d in self.trace if d.door == door and d.now_ms >= since_ms]

    def _run(self) -> None:
        tick = self.sim.cfg.TICK_MS
        while not self._stop.is_set():
            readable, _, _ = select.select([self.master], [], [], tick / 1000 / 4)
            data = b""
            if readable:
                try:
                    data = os.read(self.master, 4096)
                except OSError:  # no host has the pty open right now
                    time.sleep(tick / 1000)
            with self.lock:
                target = int((time.monotonic() - self._t0) * 1000)
                if data:
                    self.last_from_host_ms = self.sim.now
                    self.sim.receive(self.to_mcu(data) if self.to_mcu else data)
                while self.sim.now + tick <= target:
                    self.sim.advance(tick)
                    self._record()
                out = self.sim.take_output()
                if out and self.to_host:
                    out = self.to_host(out)
            if out:
                self.bytes_to_host += len(out)
                with contextlib.suppress(OSError):
                    os.write(self.master, out)

    def _record(self) -> None:
        machine = self.sim.machine
        for index, door in enumerate(self.sim.world.doors):
            spec = door.spec
            direction = 0
            if machine is not None and machine.duty(spec["pwm"]) > 0:
                direction = 1 if machine.output(spec["dir"]) == 1 else -1
            self.trace.append(Drive(self.sim.now, index, direction, door.position))


class Host:
    """The host adapter on the rig's pty, run as an asyncio task; events collected as the daemon would."""

    def __init__(self, rig: PtyRig, port: str | None = None, **settings: Any) -> None:
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
    rig: PtyRig, scenario: Callable[[Host], Awaitable[None]], port: str | None = None, **settings: Any
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
