"""Camera capture in its own thread, with latest-frame semantics and a frame-stall watchdog.

`FrameGrabber` reads a V4L2 device (`/dev/video0`), a device index (`0`) or a stream URL
(`http://127.0.0.1:8081/stream`, `rtsp://...`) through cv2.VideoCapture as fast as frames come, keeping
only the newest one: consumers ask `latest(after=seq)` and get the newest frame they have not seen, so a
slow consumer skips frames instead of falling behind, and a frame older than `max_age_s` is never handed
out (stale frames are never processed).

The watchdog: when no frame has arrived for `stall_timeout_s`, the grabber reports itself stalled in
`health()`, releases the device and reopens it (with back-off) until frames flow again. Reads from a URL
are bounded by FFmpeg's read timeout, so a frozen stream cannot block the thread for long.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    image: np.ndarray
    seq: int  # 1, 2, 3, ... in arrival order
    at: float  # time.monotonic() when it arrived


@dataclass(frozen=True)
class CaptureStatus:
    running: bool
    stalled: bool
    frames: int
    fps: float
    last_frame_age_s: float | None
    reconnects: int
    detail: str


def open_capture(source: str, width: int, height: int, fps: float, timeout_s: float) -> Any:
    """cv2.VideoCapture for a device path, an index or a URL, with size/rate asked for and timeouts set."""
    ms = int(timeout_s * 1000)
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    if "://" in source:
        capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, timeouts)
    else:
        device: int | str = int(source) if source.isdigit() else source
        capture = cv2.VideoCapture(device, cv2.CAP_V4L2)
        if capture.isOpened():
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            capture.set(cv2.CAP_PROP_FPS, fps)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver's queue: as short as it allows
    return capture


class FrameGrabber:
    def __init__(
        self,
        source: str,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 15.0,
        stall_timeout_s: float = 2.0,
        max_age_s: float = 0.5,
        read_timeout_s: float = 1.5,
    ) -> None:
        self.source = source
        self.width, self.height, self.fps = width, height, fps
        self.stall_timeout_s = stall_timeout_s
        self.max_age_s = max_age_s
        self.read_timeout_s = read_timeout_s
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._seq = 0
        self._running = False
        self._thread: threading.Thread | None = None
        self._watchdog: threading.Thread | None = None
        self._capture: Any = None
        self._stalled = False
        self._reconnects = 0
        self._opened_at = 0.0
        self._arrivals: list[float] = []
        self._detail = "not started"

    # --- life cycle -------------------------------------------------------------------------------------

    def start(self) -> FrameGrabber:
        if self._running:
            return self
        self._running = True
        self._opened_at = time.monotonic()
        self._thread = threading.Thread(target=self._read_loop, name="camera-capture", daemon=True)
        self._watchdog = threading.Thread(target=self._watch, name="camera-watchdog", daemon=True)
        self._thread.start()
        self._watchdog.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._running = False
        with self._cond:
            self._cond.notify_all()
        for thread in (self._thread, self._watchdog):
            if thread is not None:
                thread.join(timeout)

    # --- consumers ----------------------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """The newest frame's sequence number (0 before the first): a consumer's starting point."""
        with self._cond:
            return self._seq

    def latest(self, after: int = 0, timeout: float = 0.5) -> Frame | None:
        """The newest frame newer than `after` and younger than max_age_s; waits up to `timeout` for one."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                frame = self._latest
                if frame is not None and frame.seq > after and time.monotonic() - frame.at <= self.max_age_s:
                    return frame
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._running:
                    return None
                self._cond.wait(remaining)

    def status(self) -> CaptureStatus:
        now = time.monotonic()
        with self._cond:
            recent = [t for t in self._arrivals if now - t <= 2.0]
            age = now - self._latest.at if self._latest else None
            detail = self._detail
            if self._stalled:
                silent = now - (self._latest.at if self._latest else self._opened_at)
                detail = f"no frame for {silent:.1f} s" + ("" if detail in ("ok", "open") else f" ({detail})")
            return CaptureStatus(
                running=self._running,
                stalled=self._stalled,
                frames=self._seq,
                fps=len(recent) / 2.0,
                last_frame_age_s=age,
                reconnects=self._reconnects,
                detail=detail,
            )

    # --- the two threads ----------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        backoff = 0.2
        while self._running:
            capture = self._capture
            if capture is None:
                capture = open_capture(self.source, self.width, self.height, self.fps, self.read_timeout_s)
                if not capture.isOpened():
                    capture.release()
                    self._detail = f"cannot open camera {self._safe_source()}"
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                self._capture, backoff = capture, 0.2
                self._detail = "open"
            ok, image = capture.read()
            if not self._running:
                break
            if not ok or image is None:
                if self._frame_age() > self.stall_timeout_s:
                    self._reopen("no frames from the camera")
                else:
                    time.sleep(0.01)
                continue
            self._publish(image)
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def _publish(self, image: np.ndarray) -> None:
        now = time.monotonic()
        with self._cond:
            self._seq += 1
            self._latest = Frame(image, self._seq, now)
            self._arrivals = [t for t in self._arrivals if now - t <= 2.0] + [now]
            if self._stalled:
                log.info("camera: frames flowing again")
            self._stalled = False
            self._detail = "ok"
            self._cond.notify_all()

    def _watch(self) -> None:
        """Flag a stall even while the reader thread is blocked inside read()."""
        while self._running:
            time.sleep(min(0.1, self.stall_timeout_s / 4))
            if self._frame_age() > self.stall_timeout_s and not self._stalled:
                with self._cond:
                    self._stalled = True
                log.warning("camera: stalled (no frame for %.1f s)", self.stall_timeout_s)

    def _frame_age(self) -> float:
        with self._cond:
            last = self._latest.at if self._latest else self._opened_at
        return time.monotonic() - last

    def _reopen(self, why: str) -> None:
        log.warning("camera: %s; reopening", why)
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        self._reconnects += 1
        with self._cond:
            self._opened_at = time.monotonic()  # give the reopened device its own stall timeout
            self._latest = None
        time.sleep(0.2)

    def _safe_source(self) -> str:
        """The source without any credentials a URL may carry."""
        if "://" in self.source and "@" in self.source:
            scheme, rest = self.source.split("://", 1)
            return f"{scheme}://***@{rest.split('@', 1)[1]}"
        return self.source
