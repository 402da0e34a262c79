"""The face verifier the daemon plugs in (edge.ports.FaceVerifier): camera + models + one capture at a time.

    verifier = CameraFaceVerifier.from_settings(config.face, base_dir)   # loads and checks the models
    task = asyncio.create_task(verifier.run(emit))                       # camera + worker threads
    verifier.start(transaction_id, portrait_bgr)     # -> MoreThanOnePerson(CAMERA)* then exactly one of
                                                     #    FaceVerified / FaceRejected / PadAlarm / CaptureTimeout
    verifier.stop()                                  # abandon the capture: no outcome follows

Inference runs in a worker thread, never on the event loop; `emit` is thread-safe (edge.ports). A capture
that is stopped, or replaced by a new `start`, emits nothing more: outcomes carry no transaction id, so a
late one must not reach the next traveller's transaction. Images and embeddings live in the worker's
locals and the capture object only, and are dropped as soon as the decision is made. The log gets reason
codes and figures, never an image, an embedding or anything else about the person.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.biometrics.capture import FrameGrabber
from edge.biometrics.images import BadImage
from edge.biometrics.liveness import MultiFrameRgbPad, PresentationAttackDetector
from edge.biometrics.pipeline import CaptureRules, Decision, FaceCapture, FaceEngine, NoFace, SecondFace
from edge.gate.events import (
    CaptureTimeout,
    FaceOutcome,
    FaceRejected,
    FaceVerified,
    MoreThanOnePerson,
    PadAlarm,
    Sensor,
)
from edge.ports import EventSink, Health

if TYPE_CHECKING:
    from edge.biometrics.settings import FaceSettings

log = logging.getLogger(__name__)

OUTCOME_EVENTS: dict[str, type[FaceOutcome]] = {
    "verified": FaceVerified,
    "rejected": FaceRejected,
    "pad_alarm": PadAlarm,
    "timeout": CaptureTimeout,
}


@dataclass
class _Job:
    generation: int
    transaction_id: str
    portrait: Any
    started_at: float


class CameraFaceVerifier:
    def __init__(
        self,
        engine: FaceEngine,
        grabber: FrameGrabber,
        rules: CaptureRules,
        pad_factory: Any = MultiFrameRgbPad,
    ) -> None:
        self.engine = engine
        self.grabber = grabber
        self.rules = rules
        self.pad_factory = pad_factory  # a callable returning a fresh PresentationAttackDetector, or None
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._generation = 0
        self._emit: EventSink | None = None
        self._worker: threading.Thread | None = None
        self._running = False
        self._captures = 0
        self._last_decision_ms: float | None = None
        self._last_error = ""

    @classmethod
    def from_settings(cls, settings: FaceSettings, base_dir: str | Path = ".") -> CameraFaceVerifier:
        """Load and check the models (raises edge.biometrics.models.ModelError with the fix) and the camera."""
        models_dir = Path(settings.models_dir)
        if not models_dir.is_absolute():
            models_dir = Path(base_dir) / models_dir
        engine = FaceEngine.load(models_dir, settings.threads, tuple(settings.providers), settings.detection_size)
        grabber = FrameGrabber(
            settings.camera,
            width=settings.width,
            height=settings.height,
            fps=settings.fps,
            stall_timeout_s=settings.stall_timeout_s,
            max_age_s=settings.max_frame_age_s,
        )
        rules = CaptureRules(
            threshold=settings.threshold,
            capture_timeout_s=settings.capture_timeout_s,
            pad_threshold=settings.pad_threshold,
            max_comparisons=settings.max_comparisons,
        )
        return cls(engine, grabber, rules, MultiFrameRgbPad if settings.pad == "baseline" else None)

    # --- edge.ports.FaceVerifier ------------------------------------------------------------------------------

    async def run(self, emit: EventSink) -> None:
        self.start_threads(emit)
        try:
            while True:
                await asyncio.sleep(3600)
        finally:
            await asyncio.shield(asyncio.to_thread(self.close))  # joining threads must not block the loop

    def start(self, transaction_id: str, portrait: Any) -> None:
        with self._lock:
            self._generation += 1
            job = _Job(self._generation, transaction_id, portrait, time.monotonic())
        self._jobs.put(job)

    def stop(self) -> None:
        with self._lock:
            self._generation += 1  # the worker notices and abandons the capture silently

    def set_threshold(self, threshold: float) -> None:
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"threshold {threshold} outside [-1, 1]")
        self.rules = replace(self.rules, threshold=float(threshold))

    def health(self) -> Health:
        camera = self.grabber.status()
        figures = {"camera_fps": camera.fps, "camera_reconnects": float(camera.reconnects), "captures": self._captures}
        if camera.last_frame_age_s is not None:
            figures["last_frame_age_s"] = round(camera.last_frame_age_s, 3)
        if self._last_decision_ms is not None:
            figures["last_capture_ms"] = self._last_decision_ms
        ok = self._running and camera.running and not camera.stalled and camera.frames > 0
        detail = "ok" if ok else (camera.detail if self._running else "not running")
        return Health(ok, detail, figures)

    # --- threads ---------------------------------------------------------------------------------------------

    def start_threads(self, emit: EventSink) -> None:
        """What `run` does before it waits; usable without an event loop (tests, tools)."""
        self._emit = emit
        if self._running:
            return
        self._running = True
        self.grabber.start()
        self._worker = threading.Thread(target=self._work, name="face-worker", daemon=True)
        self._worker.start()

    def close(self) -> None:
        self._running = False
        self.stop()
        self._jobs.put(None)
        if self._worker is not None:
            self._worker.join(5)
        self.grabber.stop()

    def _current(self, job: _Job) -> bool:
        return self._running and job.generation == self._generation

    def _work(self) -> None:
        pending: _Job | None = None
        while self._running:
            job = pending or self._jobs.get()
            pending = None
            if job is None:
                return
            if not self._current(job):
                continue
            try:
                pending = self._capture(job)
            except Exception:  # a bug must not kill the worker: refer the traveller, keep serving
                log.exception("face capture failed (transaction %s)", job.transaction_id)
                if self._current(job):
                    self._finish(job, self._fallback(job, "internal_error"))

    def _capture(self, job: _Job) -> _Job | None:
        """Run one capture to its decision; returns a newer job that arrived meanwhile, if any."""
        rules = self.rules
        try:
            portrait_embedding, _portrait_quality = self.engine.portrait_embedding(job.portrait)
        except (BadImage, NoFace) as exc:
            log.warning("face: portrait unusable (%s), transaction %s", exc.reason, job.transaction_id)
            self._finish(job, self._fallback(job, f"portrait_{exc.reason}"))
            return None
        finally:
            job.portrait = None  # the chip portrait is no longer needed: its embedding is
        pad: PresentationAttackDetector | None = self.pad_factory() if self.pad_factory else None
        capture = FaceCapture(self.engine, portrait_embedding, rules, pad, job.started_at)
        del portrait_embedding
        last_seq = self.grabber.seq  # frames from before the start belong to someone else
        try:
            while True:
                newer = self._newer_job()
                if newer is not None or not self._current(job):
                    return newer  # replaced or stopped: no outcome
                frame = self.grabber.latest(after=last_seq, timeout=0.1)
                now = time.monotonic()
                if frame is None:
                    decision = capture.expire(now)
                    signals: list[SecondFace | Decision] = [decision] if decision else []
                else:
                    last_seq = frame.seq
                    signals = capture.process(frame.image, frame.at)
                    del frame
                for signal in signals:
                    if not self._current(job):
                        return None
                    if isinstance(signal, SecondFace):
                        self._send(MoreThanOnePerson(sensor=Sensor.CAMERA))
                    else:
                        self._finish(job, signal)
                        return None
        finally:
            capture.close()

    def _newer_job(self) -> _Job | None:
        try:
            return self._jobs.get_nowait()
        except queue.Empty:
            return None

    def _fallback(self, job: _Job, reason: str) -> Decision:
        ms = round((time.monotonic() - job.started_at) * 1000, 1)
        return Decision("rejected", None, self.rules.threshold, None, None, ms, reason)

    def _finish(self, job: _Job, decision: Decision) -> None:
        self._captures += 1
        self._last_decision_ms = decision.capture_ms
        log.info(
            "face: transaction %s %s (%s) score=%s threshold=%.3f quality=%s pad=%s comparisons=%d frames=%d %.0f ms",
            job.transaction_id, decision.kind, decision.reason, decision.score, decision.threshold,
            decision.quality, decision.pad_score, decision.comparisons, decision.frames, decision.capture_ms,
        )  # fmt: skip
        event = OUTCOME_EVENTS[decision.kind](
            score=decision.score,
            threshold=decision.threshold,
            quality=decision.quality,
            pad_score=decision.pad_score,
            capture_ms=decision.capture_ms,
        )
        with self._lock:
            if job.generation != self._generation:
                return
            self._generation += 1  # exactly one outcome per start
        self._send(event)

    def _send(self, event: Any) -> None:
        if self._emit is not None:
            self._emit(event)
