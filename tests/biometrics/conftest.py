"""Shared fixtures: the real models and the real test photographs (fetched by `bash .ci/setup`)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.biometrics.detect import FaceDetector
from edge.biometrics.embed import FaceEmbedder
from simulators.camera import library

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def detector() -> FaceDetector:
    return FaceDetector.load(REPO / "models", threads=2)


@pytest.fixture(scope="session")
def embedder() -> FaceEmbedder:
    return FaceEmbedder.load(REPO / "models", threads=2)


@pytest.fixture(scope="session")
def photo():
    """photo('obama2.jpg') -> the BGR image (read-only)."""

    def read(name: str) -> np.ndarray:
        image = cv2.imread(str(library.MANIFEST.parent / "faces" / name), cv2.IMREAD_COLOR)
        assert image is not None, f"{name} missing: run bash .ci/setup"
        return image

    return read


@pytest.fixture(scope="session")
def camera():
    """The camera simulator as a child process serving MJPEG over HTTP on 127.0.0.1; yields its control."""
    from simulators.camera.control import start_camera_simulator

    child, control = start_camera_simulator(fps=15)
    try:
        yield control
    finally:
        child.stop()
