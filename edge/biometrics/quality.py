"""Quality prequalification of a live face: size, pose, sharpness and exposure -> a score in [0, 1].

Only cheap measurements on what detection already gives (box, 5 landmarks) and on the 112x112 aligned
chip. Each factor is 1 when good and falls to 0 towards a limit; the score is their geometric mean so one
bad factor pulls it down hard. `usable` is false below the hard limits (a frame that must not decide).
The limits are loose on purpose: an ABC gate sees cooperative travellers, and the ranking matters more
than the absolute value (TR-03121 asks that quality *ranks* live frames).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.biometrics.detect import Face

MIN_EYE_DISTANCE_PX = 24  # below this the chip is upscaled mush
GOOD_EYE_DISTANCE_PX = 60  # ICAO 9303 asks 90 for enrolment; 60 is plenty for comparison
MAX_YAW = 0.45  # nose offset from the eye midpoint, in eye distances
MAX_ROLL_DEG = 30.0
MIN_SHARPNESS = 15.0  # variance of the Laplacian on the grey chip
GOOD_SHARPNESS = 120.0


@dataclass(frozen=True)
class Quality:
    score: float  # 0..1, higher is better
    usable: bool
    reason: str  # "" when usable, else a short code: "face_too_small", "pose", "blurred", "exposure"
    eye_distance: float
    yaw: float
    roll_deg: float
    sharpness: float
    brightness: float


def assess(face: Face, chip_bgr: np.ndarray) -> Quality:
    marks = face.landmarks.astype(np.float64)
    right_eye, left_eye, nose = marks[0], marks[1], marks[2]
    eye_vector = left_eye - right_eye
    eye_distance = float(np.hypot(*eye_vector))
    roll = float(np.degrees(np.arctan2(eye_vector[1], eye_vector[0])))
    # Yaw proxy: where the nose tip sits between the eyes, measured along the eye line.
    along = float((nose - (right_eye + left_eye) / 2) @ eye_vector) / max(eye_distance**2, 1e-6)
    grey = cv2.cvtColor(chip_bgr, cv2.COLOR_BGR2GRAY)
    centre = grey[24:100, 20:92]  # the face, without the background corners of the chip
    sharpness = float(cv2.Laplacian(centre, cv2.CV_64F).var())
    brightness = float(centre.mean())
    clipped = float(np.mean((centre < 8) | (centre > 247)))

    size_q = _ramp(eye_distance, MIN_EYE_DISTANCE_PX, GOOD_EYE_DISTANCE_PX)
    pose_q = min(_ramp(MAX_YAW - abs(along), 0, MAX_YAW * 0.6), _ramp(MAX_ROLL_DEG - abs(roll), 0, 20))
    sharp_q = _ramp(sharpness, MIN_SHARPNESS, GOOD_SHARPNESS)
    exposure_q = min(_ramp(brightness, 35, 80), _ramp(235 - brightness, 0, 55), 1 - min(1.0, clipped * 3))
    factors = np.array([size_q, pose_q, sharp_q, exposure_q, min(1.0, face.score)])
    score = float(np.exp(np.log(np.maximum(factors, 1e-3)).mean()))

    reason = ""
    if eye_distance < MIN_EYE_DISTANCE_PX:
        reason = "face_too_small"
    elif abs(along) > MAX_YAW or abs(roll) > MAX_ROLL_DEG:
        reason = "pose"
    elif sharpness < MIN_SHARPNESS:
        reason = "blurred"
    elif exposure_q <= 0.0:
        reason = "exposure"
    return Quality(round(score, 4), not reason, reason, eye_distance, along, roll, sharpness, brightness)


def _ramp(value: float, low: float, high: float) -> float:
    """0 at or below `low`, 1 at or above `high`, linear between."""
    if high <= low:
        return 1.0 if value >= high else 0.0
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))
