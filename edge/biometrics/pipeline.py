"""Per-frame processing of one face capture, and the decision.

`FaceEngine` holds the two models and turns an image into faces, a quality and an embedding.
`FaceCapture` is one transaction's capture: fed frames (and the time) one by one, it counts faces on every
frame (a second face -> `SecondFace`, once per appearance: "please appear alone"), ranks single-face
frames by quality, compares the best ones with the portrait, lets the PAD detector watch, and decides:

  verified     a compared frame reached the threshold and PAD (once it has seen enough frames) is below
               its threshold
  pad_alarm    PAD above its threshold (at a match, or at the timeout)
  rejected     at the timeout, the best-quality compared frame did not reach the threshold
  timeout      at the timeout, no usable face was seen (or PAD never saw enough frames)

Only frames that beat the quality of every frame compared so far are compared, at most `max_comparisons`
times: every extra comparison is another chance for an impostor, so the count is bounded and the
deciding frame is the best one, not the luckiest. Nothing here writes images or embeddings anywhere;
`FaceCapture.close()` drops them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.biometrics.align import align_face
from edge.biometrics.detect import Face, FaceDetector
from edge.biometrics.embed import FaceEmbedder
from edge.biometrics.images import BadImage, to_bgr
from edge.biometrics.liveness import PresentationAttackDetector
from edge.biometrics.match import cosine
from edge.biometrics.models import release_freed_memory
from edge.biometrics.quality import Quality, assess


class NoFace(ValueError):
    """The image is fine but holds no face (reason code "no_face")."""

    reason = "no_face"


@dataclass(frozen=True)
class Analysis:
    """One image's faces; for the main (largest) face its quality and aligned chip."""

    image: np.ndarray  # the BGR image the faces are in
    faces: list[Face]
    main: Face | None
    quality: Quality | None
    chip: np.ndarray | None


class FaceEngine:
    """The two models. Not thread-safe (it reuses its input buffers): one worker thread uses it."""

    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder) -> None:
        self.detector = detector
        self.embedder = embedder

    @classmethod
    def load(
        cls,
        models_dir: str | Path | None = None,
        threads: int = 2,
        providers: tuple[str, ...] = (),
        detection_size: int | None = None,
    ) -> FaceEngine:
        # SFace first, and its freed load-time copies (protobuf, unpacked weights: ~40 MB) returned to the OS
        # before YuNet loads: the process peak is then SFace's load on top of less (onnxruntime 1.32: -20 MB).
        embedder = FaceEmbedder.load(models_dir, threads, providers)
        release_freed_memory()
        detector = FaceDetector.load(models_dir, threads, providers, detection_size)
        release_freed_memory()
        return cls(detector, embedder)

    def analyse(self, image: Any) -> Analysis:
        """Raises BadImage for inputs that are not images."""
        bgr = to_bgr(image)
        faces = self.detector.detect(bgr)
        if not faces:
            return Analysis(bgr, faces, None, None, None)
        main = faces[0]
        chip = align_face(bgr, main.landmarks)
        return Analysis(bgr, faces, main, assess(main, chip), chip)

    def embed(self, chip: np.ndarray) -> np.ndarray:
        return self.embedder.embed(chip)

    def portrait_embedding(self, portrait: Any) -> tuple[np.ndarray, Quality]:
        """The chip portrait's embedding (its largest face). Raises BadImage or NoFace."""
        analysis = self.analyse(portrait)
        if analysis.main is None or analysis.chip is None or analysis.quality is None:
            raise NoFace("no face in the portrait")
        return self.embed(analysis.chip), analysis.quality

    def compare(self, image_a: Any, image_b: Any) -> dict[str, Any]:
        """Field check of two photos: detection, quality, score (no decision; the caller has the threshold)."""
        result: dict[str, Any] = {}
        vectors = []
        for key, image in (("a", image_a), ("b", image_b)):
            try:
                analysis = self.analyse(image)
            except BadImage as exc:
                result[key] = {"error": exc.reason}
                continue
            entry: dict[str, Any] = {"faces": len(analysis.faces)}
            if analysis.main is not None and analysis.quality is not None and analysis.chip is not None:
                entry.update(
                    box=[round(v, 1) for v in analysis.main.box],
                    detection_score=round(analysis.main.score, 3),
                    quality=analysis.quality.score,
                    quality_issue=analysis.quality.reason,
                    eye_distance_px=round(analysis.quality.eye_distance, 1),
                )
                vectors.append(self.embed(analysis.chip))
            else:
                entry["error"] = "no_face"
            result[key] = entry
        result["score"] = round(cosine(*vectors), 4) if len(vectors) == 2 else None
        return result


@dataclass(frozen=True)
class CaptureRules:
    threshold: float = 0.363
    capture_timeout_s: float = 7.0
    pad_threshold: float = 0.5  # alarm when the PAD score is above this
    max_comparisons: int = 5
    quality_margin: float = 0.02  # a frame is compared only if it beats the best compared so far by this


@dataclass(frozen=True)
class SecondFace:
    """More than one face in the frame: tell the traveller to appear alone."""

    faces: int


@dataclass(frozen=True)
class Decision:
    kind: str  # "verified", "rejected", "pad_alarm", "timeout"
    score: float | None
    threshold: float
    quality: float | None
    pad_score: float | None
    capture_ms: float
    reason: str  # a code for the log: "match", "no_match", "pad", "no_face", "pad_undetermined", ...
    comparisons: int = 0
    frames: int = 0


class FaceCapture:
    def __init__(
        self,
        engine: FaceEngine,
        portrait_embedding: np.ndarray,
        rules: CaptureRules,
        pad: PresentationAttackDetector | None,
        started_at: float,
    ) -> None:
        self.engine = engine
        self.rules = rules
        self.pad = pad
        self.started_at = started_at
        self._portrait: np.ndarray | None = portrait_embedding
        self._several_faces = False
        self._best_face_quality: float | None = None  # of any single face seen, compared or not
        self._compared: list[tuple[float, float]] = []  # (quality, score) of each comparison
        self._pending_match: tuple[float, float] | None = None  # matched, waiting for PAD to have enough
        self.frames = 0
        self.bad_frames = 0
        self.decision: Decision | None = None
        if pad is not None:
            pad.reset()

    def process(self, frame: Any, now: float) -> list[SecondFace | Decision]:
        """Feed one frame taken at `now`; returns the signals it causes (never raises for a bad frame)."""
        if self.decision is not None:
            return []
        signals: list[SecondFace | Decision] = []
        self.frames += 1
        try:
            analysis = self.engine.analyse(frame)
        except BadImage:
            self.bad_frames += 1
            analysis = None
        if analysis is not None:
            if len(analysis.faces) > 1:
                if not self._several_faces:
                    signals.append(SecondFace(len(analysis.faces)))
                self._several_faces = True
            else:
                self._several_faces = False
                if analysis.main is not None:
                    decision = self._single_face(analysis, now)
                    if decision is not None:
                        signals.append(decision)
                        return signals
        expired = self.expire(now)
        if expired is not None:
            signals.append(expired)
        return signals

    def expire(self, now: float) -> Decision | None:
        """The decision at the timeout (the best frame decides), or None while there is time left."""
        if self.decision is not None or now - self.started_at < self.rules.capture_timeout_s:
            return None
        pad_score = self._pad_score()
        best = max(self._compared, default=None)
        if best is None:
            return self._decide("timeout", None, self._best_face_quality, pad_score, now, "no_usable_face")
        quality, score = best
        if pad_score is not None and pad_score > self.rules.pad_threshold:
            return self._decide("pad_alarm", score, quality, pad_score, now, "pad")
        if score >= self.rules.threshold:  # matched, but PAD never had enough frames: refer, do not pass
            return self._decide("timeout", score, quality, pad_score, now, "pad_undetermined")
        return self._decide("rejected", score, quality, pad_score, now, "no_match")

    def close(self) -> None:
        """Drop the biometric data (the portrait embedding and whatever PAD holds)."""
        self._portrait = None
        if self.pad is not None:
            self.pad.reset()

    # --- internals -----------------------------------------------------------------------------------------

    def _single_face(self, analysis: Analysis, now: float) -> Decision | None:
        quality, chip, face = analysis.quality, analysis.chip, analysis.main
        assert quality is not None and chip is not None and face is not None
        self._best_face_quality = max(self._best_face_quality or 0.0, quality.score)
        if self.pad is not None:
            self.pad.observe(analysis.image, face, chip, now)
        if quality.usable and self._worth_comparing(quality.score):
            assert self._portrait is not None
            score = cosine(self.engine.embed(chip), self._portrait)
            self._compared.append((quality.score, score))
            if score >= self.rules.threshold:
                self._pending_match = (quality.score, score)
        if self._pending_match is None:
            return None
        pad_score = self._pad_score()
        if self.pad is not None and pad_score is None:
            return None  # matched; PAD needs a few more frames
        match_quality, match_score = self._pending_match
        if pad_score is not None and pad_score > self.rules.pad_threshold:
            return self._decide("pad_alarm", match_score, match_quality, pad_score, now, "pad")
        return self._decide("verified", match_score, match_quality, pad_score, now, "match")

    def _worth_comparing(self, quality: float) -> bool:
        if len(self._compared) >= self.rules.max_comparisons:
            return False
        best = max((q for q, _ in self._compared), default=None)
        return best is None or quality > best + self.rules.quality_margin

    def _pad_score(self) -> float | None:
        if self.pad is None:
            return None
        result = self.pad.result()
        return None if result is None else result.score

    def _decide(
        self, kind: str, score: float | None, quality: float | None, pad: float | None, now: float, reason: str
    ) -> Decision:
        self.decision = Decision(
            kind=kind,
            score=None if score is None else round(score, 4),
            threshold=self.rules.threshold,
            quality=None if quality is None else round(quality, 4),
            pad_score=pad,
            capture_ms=round((now - self.started_at) * 1000, 1),
            reason=reason,
            comparisons=len(self._compared),
            frames=self.frames,
        )
        self.close()
        return self.decision
