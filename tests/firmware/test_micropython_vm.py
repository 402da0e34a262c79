"""The firmware runs in the real MicroPython VM, not only in CPython: its WebAssembly port (installed by
.ci/setup from npm into .venv/micropython-wasm) imports the modules flat, as on the board, and drives the
protocol and the controller through a minimal `machine` (micropython/check_firmware.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "micropython"
PORT = Path(
    os.environ.get(
        "ECHANNEL_MICROPYTHON_WASM",
        ROOT / ".venv/micropython-wasm/node_modules/@micropython/micropython-webassembly-pyscript",
    )
)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.skipif(not (PORT / "micropython.mjs").exists(), reason="MicroPython WebAssembly port not installed")
def test_protocol_and_controller_run_in_micropython() -> None:
    result = subprocess.run(
        ["node", str(HERE / "run.mjs"), str(PORT), str(ROOT / "firmware"), str(HERE / "check_firmware.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().startswith("OK")
