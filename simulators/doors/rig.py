"""The door-controller rig: the real firmware (DoorSim) in real time behind a pseudo-terminal.

The daemon opens the pty's slave side with pyserial exactly as it would open /dev/ttyACM0; a stable
symlink (`link`) points at it so a configuration can name one path. The world is moved through the same
methods as DoorSim's, from any thread (in-process API), or through the line-based control socket
(control.py) when the rig runs as `echannel sim doors`.

    with DoorRig(link="/tmp/doors") as rig:
        serial.Serial(rig.port)      # talk to the firmware
        rig.walk("a", to=1.0)        # a traveller walks in
        rig.set_fire(True)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import threading
import time
import tty
from typing import Any

from simulators.doors.sim import DoorSim

# What the world may be told to do (also the control socket's verbs).
WORLD_ACTIONS = (
    "walk",
    "place",
    "remove",
    "drop_object",
    "pick_up",
    "obstruct",
    "set_fire",
    "reset",
    "power_loss",
    "hang",
    "snapshot",
)


class DoorRig:
    def __init__(self, link: str | None = None, *, sim: DoorSim | None = None, **overrides: Any) -> None:
        self.sim = sim or DoorSim(**overrides)
        self.link = link
        self.lock = threading.RLock()
        self.bytes_in = 0
        self.bytes_out = 0
        self.bytes_dropped = 0
        self._master = -1
        self._slave = -1
        self._pty_name = ""
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._t0 = 0.0
        self._offset = self.sim.now

    # --- life cycle ---------------------------------------------------------------------------------------

    def start(self) -> DoorRig:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: a binary serial line
        flags = fcntl.fcntl(self._master, fcntl.F_GETFL)
        fcntl.fcntl(self._master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._pty_name = os.ttyname(self._slave)
        if self.link:
            temporary = f"{self.link}.{os.getpid()}.tmp"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            os.symlink(self._pty_name, temporary)
            os.replace(temporary, self.link)  # atomic: a reader never sees a missing link
        self._wake_r, self._wake_w = os.pipe()
        self._t0 = time.monotonic()
        self._offset = self.sim.now
        self._thread = threading.Thread(target=self._run, name="door-rig", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.link and os.path.islink(self.link) and os.readlink(self.link) == self._pty_name:
            os.unlink(self.link)
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = self._wake_r = self._wake_w = -1

    def __enter__(self) -> DoorRig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> str:
        """The path to open with pyserial: the stable link if one was asked for, else the pty itself."""
        return self.link or self._pty_name

    @property
    def pty_name(self) -> str:
        return self._pty_name

    # --- the world (thread-safe) --------------------------------------------------------------------------

    def do(self, action: str, *args: Any, **kwargs: Any) -> Any:
        if action not in WORLD_ACTIONS:
            raise ValueError(f"unknown action {action!r}; known: {', '.join(WORLD_ACTIONS)}")
        with self.lock:
            self.sim.advance_to(self._now())
            return getattr(self.sim, action)(*args, **kwargs)

    def walk(self, name: str, to: float, speed: float = 1.0) -> None:
        self.do("walk", name, to, speed)

    def place(self, name: str, x: float) -> None:
        self.do("place", name, x)

    def remove(self, name: str) -> None:
        self.do("remove", name)

    def drop_object(self, name: str, x: float) -> None:
        self.do("drop_object", name, x)

    def pick_up(self, name: str) -> None:
        self.do("pick_up", name)

    def obstruct(self, door: int, on: bool = True) -> None:
        self.do("obstruct", door, on)

    def set_fire(self, on: bool) -> None:
        self.do("set_fire", on)

    def reset(self) -> None:
        self.do("reset")

    def power_loss(self, duration_ms: int) -> None:
        self.do("power_loss", duration_ms)

    def hang(self) -> None:
        self.do("hang")

    def snapshot(self) -> dict[str, Any]:
        return self.do("snapshot")

    # --- the real-time loop -------------------------------------------------------------------------------

    def _now(self) -> int:
        return self._offset + int((time.monotonic() - self._t0) * 1000)

    def _run(self) -> None:
        master = self._master
        while not self._stopping.is_set():
            with self.lock:
                wait_ms = max(0, self.sim._next_tick - self._now())
            readable, _, _ = select.select([master, self._wake_r], [], [], wait_ms / 1000)
            data = b""
            if master in readable:
                try:
                    data = os.read(master, 4096)
                except BlockingIOError:
                    data = b""
                except OSError as error:  # EIO: no slave open (cannot happen while we hold one)
                    if error.errno != errno.EIO:
                        raise
                    time.sleep(0.01)
            with self.lock:
                self.sim.advance_to(self._now())
                if data:
                    self.bytes_in += len(data)
                    self.sim.receive(data)  # commands are answered at once, not at the next tick
                out = self.sim.take_output()
            if out:
                self._write(out)

    def _write(self, data: bytes) -> None:
        """Write to the line; a full buffer (nobody reading) drops bytes, as a UART would."""
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                self.bytes_dropped += len(view)
                return
            except OSError:
                self.bytes_dropped += len(view)
                return
            self.bytes_out += written
            view = view[written:]
