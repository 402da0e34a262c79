"""Does hiding /proc/cpuinfo (the unit's ProcSubset=pid) slow onnxruntime down? Why the unit leaves it off.

    sudo .venv/bin/python benchmarks/unit_proc_subset.py [--runs 200]

Runs the same inference loop twice in child processes: with the normal /proc, and inside a private mount
namespace with /proc mounted `subset=pid` as systemd does for ProcSubset=pid. Models: the hand-written test
model (Conv+Relu, MatMul) and every models/*.onnx present. Prints median ms per run and whether onnxruntime
complained about CPU detection. Needs root (mount namespace).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import statistics, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import numpy as np, onnxruntime as ort
from tests.deploy.tiny_onnx import tiny_model
runs = int(sys.argv[2])
models = [("tiny", tiny_model())]
models += [(p.name, p.read_bytes()) for p in sorted(Path(sys.argv[1], "models").glob("*.onnx"))]
for name, model in models:
    options = ort.SessionOptions(); options.intra_op_num_threads = 2; options.log_severity_level = 3
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    shapes = {i.name: [d if isinstance(d, int) else 1 for d in i.shape] for i in session.get_inputs()}
    feeds = {n: np.random.default_rng(0).random(s).astype(np.float32) for n, s in shapes.items()}
    for _ in range(10):
        session.run(None, feeds)
    times = []
    for _ in range(runs):
        t = time.perf_counter(); session.run(None, feeds); times.append((time.perf_counter() - t) * 1000)
    print(f"{name}\t{statistics.median(times):.3f}")
"""


def measure(hidden: bool, runs: int) -> tuple[dict[str, float], bool]:
    argv = [sys.executable, "-c", CHILD, str(REPO), str(runs)]
    if hidden:
        quoted = " ".join(f"'{a}'" for a in argv)
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                f"mount -t proc -o subset=pid proc /proc && exec {quoted}"]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    figures = {line.split("\t")[0]: float(line.split("\t")[1]) for line in result.stdout.splitlines()}
    return figures, "cpuinfo" in result.stderr


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith(("model name", "Model")):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (a private mount namespace for /proc)", file=sys.stderr)
        return 1
    print(f"machine: {platform.platform()}, {cpu_model()}, {os.cpu_count()} cores; runs per model: {args.runs}")
    normal, _ = measure(False, args.runs)
    hidden, complained = measure(True, args.runs)
    print(f"{'model':24} {'normal /proc ms':>16} {'subset=pid ms':>14}")
    for name in normal:
        print(f"{name:24} {normal[name]:16.3f} {hidden[name]:14.3f}")
    print(f"onnxruntime CPU detection failed under subset=pid: {'yes' if complained else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
