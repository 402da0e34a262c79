"""The MRZ source: an OCR page or swipe reader that sends each MRZ line as text over a serial port.

Such readers present themselves as a serial device (USB CDC/ACM or RS-232) and send, per document, the MRZ
lines terminated by CR, LF or CR LF, sometimes wrapped in STX/ETX or padded with blanks. `MrzAssembler` is
the pure part (bytes in, parsed MRZs out); `SerialMrzReader` is the pyserial thread around it that keeps
the latest scan for the card session to use as its BAC/PACE key.

    reader = SerialMrzReader("/dev/ttyACM0", 9600).start()
    mrz = reader.wait_for_scan(since=card_seen_at, timeout=3.0)    # None: nobody laid the page on the reader

Nothing read here is ever logged: an MRZ is personal data. Log lines carry counts and reason codes.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from edge.document.errors import MRZError
from edge.document.mrz import MRZ, parse_mrz

log = logging.getLogger(__name__)

_LINE = re.compile(r"^[A-Z0-9<]+$")
_LINE_BREAKS = re.compile(rb"[\r\n]")
_IGNORED = bytes(range(0, 32)).replace(b"\r", b"").replace(b"\n", b"") + b" \x7f"
MAX_PENDING = 512  # bytes without a line break before the buffer is dropped (noise, wrong baud rate)


class MrzAssembler:
    """Turns a byte stream into MRZs: keeps the last MRZ-shaped lines and reports 3 x 30 (TD1) or 2 x 44
    (TD3) as soon as they are complete. Lines of other shapes reset the window. Never raises."""

    def __init__(self) -> None:
        self._pending = b""
        self._lines: list[str] = []
        self.rejected_lines = 0

    def feed(self, data: bytes) -> list[MRZ]:
        found: list[MRZ] = []
        parts = _LINE_BREAKS.split(self._pending + bytes(data))
        self._pending = parts.pop()
        if len(self._pending) > MAX_PENDING:
            self._pending = b""
            self.rejected_lines += 1
        for raw in parts:
            mrz = self._line(raw)
            if mrz is not None:
                found.append(mrz)
        return found

    def _line(self, raw: bytes) -> MRZ | None:
        text = raw.translate(None, _IGNORED).decode("ascii", "replace").upper()
        if not text:
            return None  # the LF of a CR LF, or a blank line between documents
        if len(text) not in (30, 44) or not _LINE.match(text):
            if self._lines:
                self.rejected_lines += 1
            self._lines = []
            return None
        if self._lines and len(self._lines[-1]) != len(text):
            self._lines = []
        self._lines.append(text)
        needed = 3 if len(text) == 30 else 2
        if len(self._lines) < needed:
            return None
        lines, self._lines = self._lines[-needed:], []
        try:
            return parse_mrz(lines)
        except MRZError:
            self.rejected_lines += 1
            return None


@dataclass(frozen=True)
class Scan:
    mrz: MRZ
    at: float  # monotonic time the last line arrived


class SerialMrzReader:
    """Reads the MRZ reader's serial port in a thread; reopens it when it goes away (USB unplugged)."""

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        *,
        clock: Callable[[], float] = time.monotonic,
        reopen_interval_s: float = 1.0,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.clock = clock
        self.reopen_interval_s = reopen_interval_s
        self._assembler = MrzAssembler()
        self._latest: Scan | None = None
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = False
        self.scans = 0
        self.last_error = ""

    # --- what the card session uses --------------------------------------------------------------------

    def latest(self, since: float | None = None) -> MRZ | None:
        """The last MRZ scanned (at or after `since`, a monotonic time), or None."""
        with self._changed:
            scan = self._latest
        if scan is None or (since is not None and scan.at < since):
            return None
        return scan.mrz

    def wait_for_scan(self, *, since: float, timeout: float) -> MRZ | None:
        """The first MRZ scanned at or after `since`, waiting up to `timeout` seconds for it."""
        deadline = self.clock() + timeout
        with self._changed:
            while self._latest is None or self._latest.at < since:
                remaining = deadline - self.clock()
                if remaining <= 0 or self._stop.is_set():
                    return None
                self._changed.wait(remaining)
            return self._latest.mrz

    def forget(self) -> None:
        """Drop the last scan (after its document was read: never reuse one traveller's MRZ for the next)."""
        with self._changed:
            self._latest = None

    # --- the thread --------------------------------------------------------------------------------------

    def start(self) -> SerialMrzReader:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mrz-reader", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    def feed(self, data: bytes) -> None:
        """Process bytes as if they came from the port (the thread calls this; so may tests)."""
        for mrz in self._assembler.feed(data):
            with self._changed:
                self._latest = Scan(mrz, self.clock())
                self.scans += 1
                self._changed.notify_all()
            log.info("MRZ scanned (%s)", mrz.kind)

    def _run(self) -> None:
        import serial  # pyserial: imported here so the pure assembler needs nothing

        while not self._stop.is_set():
            try:
                with serial.Serial(self.port, self.baudrate, timeout=0.2) as port:
                    port.reset_input_buffer()  # a scan made while nobody listened is stale
                    self.connected, self.last_error = True, ""
                    log.info("MRZ reader connected on %s", self.port)
                    while not self._stop.is_set():
                        data = port.read(max(1, port.in_waiting))
                        if data:
                            self.feed(data)
            except (OSError, serial.SerialException) as exc:
                if self.connected or self.last_error != type(exc).__name__:
                    log.warning("MRZ reader on %s unavailable: %s", self.port, type(exc).__name__)
                self.connected, self.last_error = False, type(exc).__name__
                self._stop.wait(self.reopen_interval_s)  # retry interval for a missing device
        self.connected = False

    def __enter__(self) -> SerialMrzReader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
