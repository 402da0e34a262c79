"""The face models on disk: manifests, onnxruntime sessions, and the output check that proves a model file
is the one its manifest describes.

The daemon loads local files only. Each model has `models/<name>.toml` (source, licence, sha256 of the
original, input contract, defaults) and `models/<name>.onnx` (written by `models/fetch.py` at set-up).
Derived .onnx files differ byte-wise between onnx versions, so a model is checked by what it computes:
a fixed synthetic probe input goes through the session and its outputs must match the figures stored in
the manifest. A missing or failing model raises ModelError with the command that fixes it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FIX_HINT = "run `bash .ci/setup` (or `.venv/bin/python models/fetch.py`) to fetch and repair the models"
REPAIR_KEY = "echannel.repair"  # model metadata written by models/fetch.py: the repair steps that made the file
DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


class ModelError(RuntimeError):
    """A model is missing, unreadable, or does not compute what its manifest says."""


@dataclass(frozen=True)
class Manifest:
    name: str
    path: Path  # the .onnx file
    raw: dict[str, Any]

    @property
    def input_name(self) -> str:
        return str(self.raw["input"]["name"])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.raw["input"]["shape"])

    @property
    def defaults(self) -> dict[str, Any]:
        return dict(self.raw.get("defaults", {}))

    @property
    def check(self) -> dict[str, Any]:
        return dict(self.raw.get("check", {}))


def load_manifest(name: str, models_dir: str | Path | None = None) -> Manifest:
    directory = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
    toml_path = directory / f"{name}.toml"
    try:
        raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{toml_path}: no manifest for model '{name}'") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"{toml_path}: unreadable manifest: {exc}") from None
    return Manifest(name=name, path=directory / raw.get("file", f"{name}.onnx"), raw=raw)


def probe_input(shape: tuple[int, ...]) -> np.ndarray:
    """A deterministic, image-like float32 tensor in 0..255 (a formula, so no RNG version can change it)."""
    n, c, h, w = shape
    y = np.arange(h, dtype=np.float64)[:, None]
    x = np.arange(w, dtype=np.float64)[None, :]
    planes = [127.5 + 127.5 * np.sin(x * 0.043 + k) * np.cos(y * 0.061 - 0.5 * k) for k in range(c)]
    return np.broadcast_to(np.stack(planes)[None], (n, c, h, w)).astype(np.float32)


def output_fingerprint(outputs: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """Per output: mean, standard deviation, min, max (what a wrong or damaged model cannot reproduce)."""
    prints = {}
    for key, value in outputs.items():
        v = np.asarray(value, dtype=np.float64)
        prints[key] = [float(v.mean()), float(v.std()), float(v.min()), float(v.max())]
    return prints


def session_options(threads: int = 1) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: the model checks report problems themselves
    # No spin-waiting: the gate runs two sessions one after the other, each with its own thread pool, and a
    # pool spinning after its run takes a core from the next session (on 2 cores: YuNet 16 ms -> 6 ms).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def open_session(manifest: Manifest, threads: int = 1, providers: tuple[str, ...] = ("CPUExecutionProvider",)) -> Any:
    """Create the session and run the output check; raise ModelError (with the fix) if anything is wrong."""
    import onnxruntime as ort

    if not manifest.path.is_file():
        raise ModelError(f"{manifest.path}: model file missing; {FIX_HINT}")
    try:
        session = ort.InferenceSession(str(manifest.path), session_options(threads), providers=list(providers))
    except Exception as exc:  # onnxruntime raises its own exception types for damaged files
        raise ModelError(f"{manifest.path}: onnxruntime cannot load it ({exc}); {FIX_HINT}") from None
    problem = check_session(manifest, session)
    if problem:
        raise ModelError(f"{manifest.path}: {problem}; {FIX_HINT}")
    return session


def release_freed_memory() -> None:
    """Give the heap pages freed after session creation back to the OS (glibc keeps them otherwise:
    ~40 MB of SFace's protobuf copy would stay in the gate's RSS). A no-op where there is no glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def check_session(manifest: Manifest, session: Any) -> str:
    """Return '' when the session's outputs on the probe match the manifest, else what differs."""
    inputs = session.get_inputs()
    if [i.name for i in inputs] != [manifest.input_name]:
        return f"inputs are {[i.name for i in inputs]}, expected [{manifest.input_name!r}]"
    steps = ",".join(manifest.raw.get("source", {}).get("repair", []))
    made_by = session.get_modelmeta().custom_metadata_map.get(REPAIR_KEY, "")
    if steps and made_by != steps:
        return f"repaired by steps [{made_by or 'unrecorded'}], the manifest asks for [{steps}]"
    expected = manifest.check.get("fingerprint")
    if not expected:
        return "manifest has no [check] fingerprint"
    outputs = run_probe(manifest, session)
    got = output_fingerprint(outputs)
    tolerance = float(manifest.check.get("tolerance", 1e-3))
    for key, want in expected.items():
        have = got.get(key)
        if have is None:
            return f"output {key!r} missing"
        scale = max(1.0, max(abs(v) for v in want))
        if any(abs(a - b) > tolerance * scale for a, b in zip(have, want, strict=True)):
            return f"output {key!r} differs from the manifest's check (got {have}, want {want})"
    return ""


def run_probe(manifest: Manifest, session: Any) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    names = [o.name for o in session.get_outputs()]
    # The probe is the largest input a session sees (YuNet's check is at 640x640, its frames at 320x256): the
    # CPU arena grown for that run is handed back at its end, or the gate would keep ~15 MB it never uses again
    # (YuNet 8 MB, SFace 7 MB; measured with onnxruntime 1.32). Frames are never run with shrinkage: their
    # arena stays, so they allocate nothing.
    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    values = session.run(names, {manifest.input_name: probe_input(manifest.input_shape)}, options)
    return dict(zip(names, values, strict=True))
