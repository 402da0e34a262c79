"""Presentation attack detection (PAD, "liveness"): a pluggable interface and a multi-frame RGB baseline.

Interface: a detector sees every single-face frame of a capture (`observe`) and, once it has seen enough,
returns a PAD score in [0, 1] in steps of 0.01 (101 levels; 0 = bona fide, 1 = attack). The verifier
raises a PAD alarm when the score reaches the configured `pad_threshold`. Swap in a stronger detector
(a depth or NIR camera, a trained model) by implementing `PresentationAttackDetector`.

The baseline, `MultiFrameRgbPad`, uses only what one colour camera gives over ~1-2 s of frames:
  texture  printed photos and screens carry a periodic pattern (halftone dots, pixel grid) that shows as
           sharp peaks in the spectrum of the face region (moire after the camera resamples it); skin
           imaged directly gives a smooth spectrum plus broadband noise. JPEG's 8x8 grid is ignored.
  rigidity a photo is a plane: its 5 landmarks move together as one perspective transform (homography),
           however it is waved about. A head turning moves the nose against the eyes and mouth (parallax),
           which no homography explains. Measured only when there is motion; a still face is "unknown".
  blink    closed eyelids flatten the eye regions of the aligned face for a frame or two; paper never blinks.

What it stops (on the simulator's attacks, and in principle): a printed photo with a visible halftone
screen, a phone or monitor replay whose pixel grid aliases into moire, and any flat photo moved by hand
in front of the camera without blinking. What it does NOT stop: a high-quality continuous-tone photo print
held perfectly still (only the blink cue remains, and travellers do not always blink within the capture),
a video replay on a high-resolution screen (blinks and head motion are replayed too), 3-D masks, or
morphed document portraits. It has not been tested against ISO/IEC 30107-3 attack instruments; its
bona-fide false-alarm rate on real travellers is unknown. TR-03121 expects a certified PAD in a real gate.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from edge.biometrics.detect import Face

TEXTURE_NATURAL = 2.6  # spectral peakiness (log10) of skin seen directly: camera frames measured up to ~2.6
TEXTURE_PRINT = 3.0  # and of a halftone print or a screen seen by the camera: 2.6-3.4 and above
PARALLAX_NOISE = 0.015  # nose-offset spread (eye distances) from detector jitter alone
PARALLAX_LIVE = 0.035  # and from a head turning a few degrees
LEVELS = 100  # scores are multiples of 1/LEVELS: 101 distinct values


@dataclass(frozen=True)
class PadResult:
    score: float  # 0 bona fide .. 1 attack, multiple of 0.01
    frames: int
    cues: dict[str, float] = field(default_factory=dict)


class PresentationAttackDetector(Protocol):
    min_frames: int

    def reset(self) -> None: ...
    def observe(self, frame_bgr: np.ndarray, face: Face, chip_bgr: np.ndarray, t: float) -> None: ...
    def result(self) -> PadResult | None:
        """None until enough frames have been seen."""
        ...


def quantise(score: float) -> float:
    return round(float(np.clip(score, 0.0, 1.0)) * LEVELS) / LEVELS


class MultiFrameRgbPad:
    """The baseline described in the module docstring. Cheap: ~1 ms per frame."""

    def __init__(self, min_frames: int = 8, window: int = 30, weights: tuple[float, float, float] = (0.6, 0.15, 0.25)):
        self.min_frames = min_frames
        self.window = window
        self.weights = weights
        self.reset()

    def reset(self) -> None:
        self._texture: deque[float] = deque(maxlen=self.window)
        self._landmarks: deque[np.ndarray] = deque(maxlen=self.window)
        self._eyes: deque[float] = deque(maxlen=self.window)

    def observe(self, frame_bgr: np.ndarray, face: Face, chip_bgr: np.ndarray, t: float) -> None:
        self._texture.append(periodic_texture(frame_bgr, face))
        self._landmarks.append(face.landmarks.astype(np.float64))
        self._eyes.append(eye_openness(chip_bgr))

    def result(self) -> PadResult | None:
        frames = len(self._landmarks)
        if frames < self.min_frames:
            return None
        texture = _ramp(float(np.median(self._texture)), TEXTURE_NATURAL, TEXTURE_PRINT)
        rigid = rigidity(list(self._landmarks))
        blink = blinked(list(self._eyes))
        w_texture, w_rigid, w_blink = self.weights
        score = w_texture * texture + w_rigid * rigid + w_blink * (0.0 if blink else 1.0)
        cues = {"texture": round(texture, 3), "rigidity": round(rigid, 3), "blink": float(blink)}
        return PadResult(quantise(score), frames, cues)


def periodic_texture(frame_bgr: np.ndarray, face: Face, size: int = 96) -> float:
    """Peakiness of the high-frequency spectrum of the central face (log10 of peak over median power)."""
    x, y, w, h = face.box
    x0, y0 = int(max(0, x + 0.2 * w)), int(max(0, y + 0.25 * h))
    x1, y1 = int(min(frame_bgr.shape[1], x + 0.8 * w)), int(min(frame_bgr.shape[0], y + 0.85 * h))
    if x1 - x0 < 32 or y1 - y0 < 32:
        return 0.0
    grey = cv2.cvtColor(frame_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).astype(np.float32)
    if min(grey.shape) > size:  # the central window at native resolution: resampling would add its own peaks
        top, left = (grey.shape[0] - size) // 2, (grey.shape[1] - size) // 2
        grey = grey[top : top + size, left : left + size]
    grey = grey - cv2.GaussianBlur(grey, (0, 0), 2.0)  # keep the fine texture only
    n_y, n_x = grey.shape
    window = np.outer(np.hanning(n_y), np.hanning(n_x)).astype(np.float32)
    power = np.abs(np.fft.fftshift(np.fft.fft2(grey * window))) ** 2
    power = cv2.blur(power.astype(np.float32), (3, 3))  # a moire peak smeared by perspective still counts whole
    fy = np.fft.fftshift(np.fft.fftfreq(n_y))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(n_x))[None, :]
    radius = np.hypot(fx, fy)
    band = (radius > 0.12) & (radius < 0.48) & (np.abs(fx) > 0.02) & (np.abs(fy) > 0.02)
    band &= ~(_near_multiple(fx, 0.125) | _near_multiple(fy, 0.125))  # JPEG's 8x8 block grid
    values = power[band]
    if values.size < 16:
        return 0.0
    peak = float(np.sort(values)[-4:].mean())
    return float(np.log10(peak / max(float(np.median(values)), 1e-9)))


def _near_multiple(frequency: np.ndarray, step: float, tolerance: float = 0.012) -> np.ndarray:
    remainder = np.abs(frequency) % step
    return (np.minimum(remainder, step - remainder) < tolerance) & (np.abs(frequency) > tolerance)


def rigidity(landmarks: list[np.ndarray]) -> float:
    """1 = the landmarks moved as a plane would; 0 = clearly not; 0.5 = too little motion to tell.

    The eyes and mouth corners of each frame are mapped back onto the first frame's by a least-squares
    affine transform (a flat photo moves so, give or take a little perspective); where that puts the nose
    tip is then compared with where the first frame had it. A plane keeps the nose in place (only detector
    jitter remains); a turning head moves it (parallax). The spread of that offset, in eye distances, is
    the measure.
    """
    reference = landmarks[0]
    anchors = [0, 1, 3, 4]
    eye_distance = max(float(np.linalg.norm(reference[1] - reference[0])), 1.0)
    offsets, motion = [], []
    for points in landmarks[1:]:
        design = np.c_[points[anchors], np.ones(4)]
        affine, *_ = np.linalg.lstsq(design, reference[anchors], rcond=None)  # frame -> reference
        offsets.append((np.append(points[2], 1.0) @ affine - reference[2]) / eye_distance)
        motion.append(float(np.abs(design @ affine - design[:, :2]).max()) / eye_distance)
    if len(offsets) < 2 or max(motion) < 0.05:
        return 0.5
    spread = float(np.sqrt(np.var(np.asarray(offsets), axis=0).sum()))
    return 1.0 - _ramp(spread, PARALLAX_NOISE, PARALLAX_LIVE)


def eye_openness(chip_bgr: np.ndarray) -> float:
    """Contrast of the two eye regions of the aligned chip, relative to the face's."""
    grey = cv2.cvtColor(chip_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    eyes = np.concatenate([grey[45:59, 29:48].ravel(), grey[45:59, 64:83].ravel()])
    face = grey[40:100, 25:87]
    return float(eyes.std() / max(float(face.std()), 1.0))


def blinked(openness: list[float]) -> bool:
    """Some frame's eyes are much flatter than usual, and the eyes open again afterwards."""
    values = np.asarray(openness)
    if values.size < 3:
        return False
    typical = float(np.median(values))
    low = np.nonzero(values < 0.88 * typical)[0]
    return bool(low.size and low.size <= values.size // 3 and low[0] < values.size - 1)


def _ramp(value: float, low: float, high: float) -> float:
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))
