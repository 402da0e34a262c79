"""SerialDoorController: edge.ports.DoorController over a serial port, around the sans-I/O DoorLink.

    doors = SerialDoorController(settings.doors)
    task = asyncio.create_task(doors.run(emit))
    doors.command(Door.ENTRY, DoorOp.OPEN)

pyserial opens and configures the port (a real UART, USB CDC or a pty alike: raw 8N1 at the configured
baud rate, exclusive access). The port's file descriptor is then watched with `loop.add_reader` rather than
a reader thread, because:
- the DoorLink state machine is then touched by the event-loop thread only: no locks, and no hand-off
  between a thread and the loop on the path from a received ACK to the next command;
- bytes are handled the moment the kernel has them (no polling interval, no read timeout to tune), which
  keeps command-to-ACK latency at the scheduling cost of one loop wake-up;
- on Linux (the gate computer) every tty, USB CDC device and pty is selectable, which is all this needs.
Reads and writes go straight to the non-blocking descriptor: pyserial's own write() spins on EAGAIN when
its write timeout is zero, and a full output buffer must never stall the event loop. Whatever the kernel
does not take is kept (bounded) and written when the port is writable again.

If the port fails (USB unplug, the simulator's pty closed) it is closed and reopened with exponential
backoff; meanwhile the link's own timers report LinkLost, and after reopening the link says HELLO again
and re-sends the door states the gate last asked for.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable

import serial

from edge.doors.link import DoorLink, Notice
from edge.doors.settings import DoorLinkSettings
from edge.gate.actions import DoorOp
from edge.gate.events import Door
from edge.ports import EventSink, Health
from firmware import protocol as P

log = logging.getLogger(__name__)

REOPEN_MIN_S = 0.05
REOPEN_MAX_S = 5.0
READ_SIZE = 4096
NOTICES_KEPT = 100  # the latest link notices (resyncs, refusals, sensor notices), for health and tests
MAX_BACKLOG = 4096  # unsent bytes kept while the port is not writable (the link resends what matters)


class SerialDoorController:
    """See the module docstring."""

    def __init__(
        self,
        settings: DoorLinkSettings,
        *,
        session: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self.link = DoorLink(settings, session=secrets.randbits(32) if session is None else session, now=clock())
        self._port: serial.Serial | None = None
        self._fd: int | None = None
        self._backlog = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._emit: EventSink | None = None
        self._wake: asyncio.Event | None = None
        self._reopen_delay = REOPEN_MIN_S
        self._next_open = 0.0
        self._last_open_error = ""
        self.port_opens = 0
        self.port_failures = 0
        self.bytes_dropped = 0
        self.notices: collections.deque[Notice] = collections.deque(maxlen=NOTICES_KEPT)

    # --- edge.ports.DoorController -------------------------------------------------------------------------

    async def run(self, emit: EventSink) -> None:
        """Keep the port open and the link serviced until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._emit = emit
        self._wake = asyncio.Event()
        try:
            while True:
                now = self._clock()
                if self._port is None and now >= self._next_open:
                    self._open(now)
                self._service(now)
                deadline = self.link.next_deadline()
                if self._port is None:
                    deadline = min(deadline, self._next_open)
                self._wake.clear()
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that
                # arrives as its timeout expires, and then this loop would never stop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, deadline - self._clock())):
                        await self._wake.wait()
        finally:
            self._close_port()
            self._emit = None
            self._loop = None
            self._loop_thread = None

    def command(self, door: Door, op: DoorOp) -> None:
        """Send a door command now (from any thread; it is carried out on the event loop)."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            loop.call_soon_threadsafe(self._command, door, op)
        else:
            self._command(door, op)

    def health(self) -> Health:
        link = self.link
        c = link.counters
        figures: dict[str, float] = {
            "link_up": float(link.link_up),
            "port_open": float(self._port is not None),
            "port_opens": float(self.port_opens),
            "port_failures": float(self.port_failures),
            "frames_ok": float(c.frames_ok),
            "frame_errors": float(sum(c.frame_errors.values())),
            "unexpected_frames": float(c.unexpected_frames),
            "commands": float(c.commands),
            "retries": float(c.retries),
            "acks": float(c.acks),
            "nacks": float(c.nacks),
            "unacknowledged": float(c.unacknowledged),
            "events": float(c.events),
            "duplicate_events": float(c.duplicate_events),
            "stale_frames": float(c.stale_events + c.stale_status),
            "mcu_restarts": float(c.mcu_restarts),
            "links_lost": float(c.links_lost),
            "bytes_dropped": float(self.bytes_dropped),
            **{f"frame_errors_{name}": float(n) for name, n in c.frame_errors.items()},
            **link.latency_percentiles(),
        }
        if link.mcu_boot is not None:
            figures["mcu_boot_count"] = float(link.mcu_boot)
        if self._port is None:
            why = f": {self._last_open_error}" if self._last_open_error else ""
            detail = f"port {self.settings.port} closed{why}"
        elif not link.link_up and link.peer_protocol is not None:
            detail = f"the door controller speaks protocol version {link.peer_protocol}, this host {P.VERSION}"
        elif not link.link_up and link.mcu_deaf:
            detail = f"the door controller on {self.settings.port} does not hear this host (doors in safe state)"
        elif not link.link_up:
            detail = f"no answer from the door controller on {self.settings.port}"
        else:
            detail = f"link up on {self.settings.port}, firmware {link.firmware or 'unknown'}"
        return Health(ok=link.link_up, detail=detail, figures=figures)

    # --- the loop's work -----------------------------------------------------------------------------------

    def _command(self, door: Door, op: DoorOp) -> None:
        self.link.send_command(door, op, self._clock())
        self._flush()
        if self._wake is not None:
            self._wake.set()  # a new ACK deadline: let run() recompute its sleep

    def _service(self, now: float) -> None:
        self.link.tick(now)
        self._flush()
        self._deliver()

    def _deliver(self) -> None:
        for notice in self.link.next_notices():
            self.notices.append(notice)
            log.info("door link: %s", notice)
        events = self.link.next_events()
        if self._emit is not None:
            for event in events:
                self._emit(event)

    def _on_readable(self) -> None:
        fd = self._fd
        if fd is None:
            return
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO: the pty's other end closed; ENXIO/ENODEV: the USB device went away
            self._port_failed(f"read failed: {exc.strerror or exc}")
            return
        if not data:
            self._port_failed("end of file")
            return
        now = self._clock()
        self.link.receive_data(data, now)
        if self.link.link_up:
            self._reopen_delay = REOPEN_MIN_S  # the port works: the next failure starts the backoff afresh
        self._flush()  # ACKs for events, commands re-issued after a NACK or a resync
        self._deliver()

    def _flush(self) -> None:
        data = self.link.data_to_send()
        if self._fd is None:
            return  # nothing can be sent; the link re-sends what matters after reopening
        self._backlog += data
        self._write_backlog()

    def _write_backlog(self) -> None:
        fd = self._fd
        if fd is None or not self._backlog:
            return
        try:
            written = os.write(fd, self._backlog)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            self._port_failed(f"write failed: {exc.strerror or exc}")
            return
        del self._backlog[:written]
        if len(self._backlog) > MAX_BACKLOG:  # the other end is not reading: keep the newest bytes
            self.bytes_dropped += len(self._backlog) - MAX_BACKLOG
            del self._backlog[: len(self._backlog) - MAX_BACKLOG]
        assert self._loop is not None
        if self._backlog:
            self._loop.add_writer(fd, self._write_backlog)
        else:
            self._loop.remove_writer(fd)

    # --- the port ------------------------------------------------------------------------------------------

    def _open(self, now: float) -> None:
        try:
            port = serial.Serial(
                self.settings.port,
                baudrate=self.settings.baudrate,
                timeout=0,
                write_timeout=0,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            message = str(exc)
            if message != self._last_open_error:
                log.warning("door controller port %s cannot be opened: %s", self.settings.port, message)
            self._last_open_error = message
            self._next_open = now + self._reopen_delay
            self._reopen_delay = min(REOPEN_MAX_S, self._reopen_delay * 2)
            return
        self._port = port
        self._fd = port.fileno()
        self._backlog.clear()
        self._last_open_error = ""
        self.port_opens += 1
        log.info("door controller port %s open", self.settings.port)
        assert self._loop is not None
        self._loop.add_reader(self._fd, self._on_readable)
        self.link.port_reopened(now)
        self._flush()

    def _port_failed(self, why: str) -> None:
        self.port_failures += 1
        log.warning("door controller port %s failed (%s): reopening", self.settings.port, why)
        self._close_port()
        # Back off here too: a port that opens but fails at once (a flapping USB hub) must not spin.
        self._next_open = self._clock() + self._reopen_delay
        self._reopen_delay = min(REOPEN_MAX_S, self._reopen_delay * 2)
        if self._wake is not None:
            self._wake.set()

    def _close_port(self) -> None:
        fd, port = self._fd, self._port
        self._fd = None
        self._port = None
        self._backlog.clear()
        if fd is not None and self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(fd)
            with contextlib.suppress(Exception):
                self._loop.remove_writer(fd)
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()

