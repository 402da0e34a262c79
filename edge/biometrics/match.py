"""Comparison of two face embeddings: cosine similarity in [-1, 1] (SFace's published threshold: 0.363)."""

from __future__ import annotations

import numpy as np


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    if a.shape != b.shape or denominator == 0.0:
        raise ValueError("embeddings must be non-zero vectors of the same length")
    return float(np.clip(a @ b / denominator, -1.0, 1.0))


def is_match(score: float, threshold: float) -> bool:
    return score >= threshold
