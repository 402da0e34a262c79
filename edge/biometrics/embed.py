"""Face embedding with SFace through onnxruntime: a 112x112 aligned chip (BGR) -> a unit 128-d vector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge.biometrics.models import load_manifest, open_session


class FaceEmbedder:
    def __init__(self, session: Any, *, input_name: str = "data", default_threshold: float = 0.363) -> None:
        self.session = session
        self.input_name = input_name
        self.output_name = session.get_outputs()[0].name
        self.default_threshold = default_threshold
        self._blob = np.zeros((1, 3, 112, 112), dtype=np.float32)

    @classmethod
    def load(
        cls, models_dir: str | Path | None = None, threads: int = 1, providers: tuple[str, ...] = ()
    ) -> FaceEmbedder:
        manifest = load_manifest("sface", models_dir)
        session = open_session(manifest, threads, providers or ("CPUExecutionProvider",))
        return cls(session, input_name=manifest.input_name, default_threshold=float(manifest.defaults["threshold"]))

    def prepare(self, chip_bgr: np.ndarray) -> np.ndarray:
        self._blob[0] = chip_bgr[:, :, ::-1].transpose(2, 0, 1)  # BGR HWC -> RGB CHW (the model wants RGB)
        return self._blob

    def infer(self, blob: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: blob})[0][0]

    def embed(self, chip_bgr: np.ndarray) -> np.ndarray:
        return normalise(self.infer(self.prepare(chip_bgr)))


def normalise(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
