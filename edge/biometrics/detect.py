"""Face detection with YuNet through onnxruntime: scale the image so its longer side is the detection size
(320 by default), pad bottom/right to multiples of 32, decode anchors and NMS in numpy.

The decoding follows the model's contract (models/yunet.toml) and OpenCV's FaceDetectorYN, which a test
cross-checks to within a pixel:
    score = sqrt(clip(cls) * clip(obj)); centre = (grid + b[:2]) * stride; size = exp(b[2:]) * stride;
    landmark = (k + grid) * stride; then greedy NMS on boxes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.biometrics.images import to_bgr
from edge.biometrics.models import load_manifest, open_session


@dataclass(frozen=True)
class Face:
    """One detected face in image pixels: box (x, y, w, h), 5 landmarks (right eye, left eye, nose tip,
    right mouth corner, left mouth corner, as seen in the image: x grows to the right) and a score."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray = field(repr=False, compare=False)  # (5, 2) float32
    score: float

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


class FaceDetector:
    """YuNet on onnxruntime. `detect(image)` returns faces sorted by area, largest first.

    The detector sees the image scaled so that its longer side is `detection_size` pixels (a multiple of 32),
    at the image's own aspect ratio: cost grows with the pixels, and a gate camera's faces are large. A model
    file with a fixed input size (not repaired by the current models/fetch.py) is letterboxed to that size."""

    def __init__(
        self,
        session: Any,
        *,
        detection_size: int = 320,
        score_threshold: float = 0.8,
        nms_threshold: float = 0.3,
        top_k: int = 50,
        input_name: str = "input",
    ) -> None:
        self.session = session
        self.detection_size = _multiple_of_32(detection_size)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        self.input_name = input_name
        self.strides = (8, 16, 32)
        self.output_names = [f"{kind}_{s}" for kind in ("cls", "obj", "bbox", "kps") for s in self.strides]
        height, width = session.get_inputs()[0].shape[2:]
        self.fixed_input = (width, height) if isinstance(width, int) and isinstance(height, int) else None
        self._blob = np.zeros((1, 3, 0, 0), dtype=np.float32)

    @classmethod
    def load(
        cls,
        models_dir: str | Path | None = None,
        threads: int = 1,
        providers: tuple[str, ...] = (),
        detection_size: int | None = None,
    ) -> FaceDetector:
        manifest = load_manifest("yunet", models_dir)
        session = open_session(manifest, threads, providers or ("CPUExecutionProvider",))
        d = manifest.defaults
        return cls(
            session,
            detection_size=detection_size or int(d.get("detection_size", 320)),
            score_threshold=float(d.get("score_threshold", 0.8)),
            nms_threshold=float(d.get("nms_threshold", 0.3)),
            top_k=int(d.get("top_k", 50)),
            input_name=manifest.input_name,
        )

    def detect(self, image: Any) -> list[Face]:
        """All faces above the score threshold. Raises BadImage for inputs that are not images."""
        blob, scale = self.prepare(image)
        return self.decode(self.infer(blob), scale)

    def input_size(self, width: int, height: int) -> tuple[float, tuple[int, int]]:
        """(scale, (input width, input height)) for an image of this size."""
        if self.fixed_input is not None:
            fixed_w, fixed_h = self.fixed_input
            return min(fixed_w / width, fixed_h / height), self.fixed_input
        scale = self.detection_size / max(width, height)
        return scale, (_multiple_of_32(round(width * scale)), _multiple_of_32(round(height * scale)))

    def prepare(self, image: Any) -> tuple[np.ndarray, float]:
        """Scale to the detection size, pad bottom/right with black. The blob is reused: copy it to keep it."""
        bgr = to_bgr(image)
        height, width = bgr.shape[:2]
        scale, (input_w, input_h) = self.input_size(width, height)
        new_w, new_h = min(input_w, max(1, round(width * scale))), min(input_h, max(1, round(height * scale)))
        if (new_w, new_h) == (width, height):
            resized = bgr
        else:
            interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            resized = cv2.resize(bgr, (new_w, new_h), interpolation=interpolation)
        if self._blob.shape[2:] != (input_h, input_w):
            self._blob = np.zeros((1, 3, input_h, input_w), dtype=np.float32)
        blob = self._blob
        blob[:, :, new_h:, :] = 0
        blob[:, :, :, new_w:] = 0
        blob[0, :, :new_h, :new_w] = resized.transpose(2, 0, 1)  # HWC uint8 -> CHW float32, in place
        return blob, scale

    def infer(self, blob: np.ndarray) -> list[np.ndarray]:
        return self.session.run(self.output_names, {self.input_name: blob})

    def decode(self, outputs: list[np.ndarray], scale: float) -> list[Face]:
        """Faces in image pixels from the outputs of `infer` on the blob `prepare` made (its size is the one
        the anchors are laid out on)."""
        named = dict(zip(self.output_names, outputs, strict=True))
        input_h, input_w = self._blob.shape[2:] if self.fixed_input is None else self.fixed_input[::-1]
        boxes, marks, scores = [], [], []
        for s in self.strides:
            cls_, obj = named[f"cls_{s}"][0, :, 0], named[f"obj_{s}"][0, :, 0]
            score = np.sqrt(np.clip(cls_, 0, 1) * np.clip(obj, 0, 1))
            keep = np.nonzero(score >= self.score_threshold)[0]
            if keep.size == 0:
                continue
            grid = _grid(input_h // s, input_w // s)[keep]
            bbox = named[f"bbox_{s}"][0, keep]
            kps = named[f"kps_{s}"][0, keep].reshape(-1, 5, 2)
            centre = (grid + bbox[:, :2]) * s
            size = np.exp(bbox[:, 2:]) * s
            boxes.append(np.concatenate([centre - size / 2, size], axis=1))
            marks.append((kps + grid[:, None, :]) * s)
            scores.append(score[keep])
        if not scores:
            return []
        all_boxes, all_marks, all_scores = np.concatenate(boxes), np.concatenate(marks), np.concatenate(scores)
        chosen = nms(all_boxes, all_scores, self.nms_threshold)[: self.top_k]
        faces = [
            Face(
                box=tuple(float(v) for v in all_boxes[i] / scale),  # type: ignore[arg-type]
                landmarks=(all_marks[i] / scale).astype(np.float32),
                score=float(all_scores[i]),
            )
            for i in chosen
        ]
        return sorted(faces, key=lambda f: f.area, reverse=True)


@functools.lru_cache(maxsize=32)
def _grid(rows: int, cols: int) -> np.ndarray:
    """(col, row) of every anchor cell, row-major, as the model lays out its outputs."""
    row, col = np.divmod(np.arange(rows * cols), cols)
    return np.stack([col, row], axis=1).astype(np.float32)


def _multiple_of_32(pixels: int) -> int:
    return max(32, -(-int(pixels) // 32) * 32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression on (x, y, w, h) boxes; indices by falling score."""
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    areas = boxes[:, 2] * boxes[:, 3]
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    while order.size:
        i = int(order[0])
        kept.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return kept
