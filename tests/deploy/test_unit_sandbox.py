"""The daemon's libraries work inside the unit's restrictions (MemoryDenyWriteExecute, the system call
filter, the address families, /proc as the unit mounts it, no capabilities).

systemd is not running here, so unit_sandbox.py rebuilds those restrictions from the unit file with the same
kernel mechanisms systemd uses (seccomp filters, a private /proc mount) and runs sandbox_workload.py: numpy,
OpenCV, onnxruntime inference (a hand-written model, plus the face models when they are in models/),
cryptography, a SQLite WAL outbox, paho/pyserial/pyscard imports, threads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.unit_files import REPO, UNITS
from tests.deploy.unit_sandbox import unit_settings

HERE = Path(__file__).parent
UNIT = next(u for u in UNITS if u.name == "echannel.service")

needs_root_tools = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "setpriv", "systemd-analyze")),
    reason="needs root (mount namespace) plus unshare, setpriv and systemd-analyze",
)


def run_in_unit_sandbox(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    settings = unit_settings(str(UNIT))
    proc_options = []
    if settings.get("ProtectProc"):
        proc_options.append(f"hidepid={settings['ProtectProc'][-1]}")
    if settings.get("ProcSubset"):
        proc_options.append(f"subset={settings['ProcSubset'][-1]}")
    mount_proc = f"mount -t proc -o {','.join(proc_options)} proc /proc && " if proc_options else ""
    scratch = tmp_path / "state"
    scratch.mkdir()
    env = dict(os.environ)
    models = REPO / "models"
    if list(models.glob("*.onnx")):
        env["ECHANNEL_SANDBOX_MODELS"] = str(models)
    command = (
        f"{mount_proc}exec setpriv --bounding-set=-all --inh-caps=-all "
        f"{sys.executable} {HERE / 'unit_sandbox.py'} {UNIT} {HERE / 'sandbox_workload.py'} {scratch}"
    )
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", command],
        capture_output=True, text=True, timeout=90, env=env,
    )


@needs_root_tools
def test_libraries_work_under_the_units_restrictions(tmp_path: Path):
    result = run_in_unit_sandbox(tmp_path)
    print(result.stdout)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "sandbox: MemoryDenyWriteExecute" in result.stdout  # the unit asks for it and it was in force
    assert "sandbox: SystemCallFilter" in result.stdout
    assert "onnxruntime" in result.stdout and "inference ok" in result.stdout
    assert "netlink: refused" in result.stdout


@needs_root_tools
def test_onnxruntime_still_detects_the_cpu(tmp_path: Path):
    """Why ProcSubset=pid is off: with /proc/cpuinfo hidden, onnxruntime's cpuinfo fails and warns of
    degraded CPU kernels."""
    result = run_in_unit_sandbox(tmp_path)
    assert "cpuinfo" not in result.stderr, result.stderr


@needs_root_tools
def test_the_sandbox_really_refuses_writable_executable_memory(tmp_path: Path):
    """Guards the tests above: the same harness stops a program that maps W+X memory."""
    probe = tmp_path / "wx.py"
    probe.write_text(
        "import mmap\n"
        "try:\n"
        "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "except OSError as exc:\n"
        "    print('refused', exc.errno)\n"
        "else:\n"
        "    print('allowed')\n"
    )
    result = subprocess.run(
        [sys.executable, str(HERE / "unit_sandbox.py"), str(UNIT), str(probe)],
        capture_output=True, text=True, timeout=30,
    )
    assert "refused 1" in result.stdout, result.stdout + result.stderr
