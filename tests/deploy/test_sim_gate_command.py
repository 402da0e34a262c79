"""`echannel sim gate`: a field engineer's simulated gate, up until Ctrl-C, for the doctor or the daemon.

Run on config/simulated.toml with its work directory and ports moved (see test_doctor_simulated.py for why);
the clock check is skipped because this VM has no NTP.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from simulators.processes import ChildProcess, wait_until
from tests.deploy.simulated_gate import ROOT, simulated_config

pytestmark = [pytest.mark.card, pytest.mark.broker, pytest.mark.timeout(300)]  # the pcscd lock may be held


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sim_gate_serves_the_doctor_until_sigterm_then_stops_what_it_started(tmp_path: Path):
    config = simulated_config(tmp_path, tmp_path / "sim", ROOT / "models")
    gate = ChildProcess([sys.executable, "-m", "edge.cli", "sim", "gate", "--config", str(config), "--card"],
                        name="sim-gate", log_dir=tmp_path, cwd=ROOT).start()
    try:
        wait_until(lambda: "Ctrl-C stops" in gate.log_tail(40) or not gate.alive(), timeout=200,
                   what="echannel sim gate up")
        banner = gate.log_tail(40)
        assert gate.alive(), banner
        assert "'echannel vpcd 00 00'" in banner and "a test passport on it" in banner
        pids = [int(p) for p in re.findall(r"PID (\d+)", banner)]
        assert len(pids) == 3 and all(alive(pid) for pid in pids), banner  # mosquitto, pcscd, card emulator

        doctor = subprocess.run(
            [sys.executable, "-m", "edge.cli", "doctor", "--config", str(config), "--json", "--skip", "clock"],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )
        assert doctor.stdout, doctor.stderr
        report = json.loads(doctor.stdout)
        assert doctor.returncode == 0, [c for c in report["checks"] if c["status"] != "pass"]
        assert all(c["status"] == "pass" for c in report["checks"])

        assert gate.stop(timeout=30, sig=signal.SIGTERM) == 0, gate.log_tail()
        assert "stopping" in gate.log_tail(5)
        assert not [pid for pid in pids if alive(pid)], gate.log_tail()
    finally:
        gate.stop()


def test_sim_gate_refuses_to_start_next_to_a_running_gate(tmp_path: Path):
    """SimulatedGate.start() empties its work directory: a second gate must not wreck the first."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = simulated_config(tmp_path, tmp_path / "sim", ROOT / "models")
        text = re.sub(r"mqtt://127\.0\.0\.1:\d+", f"mqtt://127.0.0.1:{port}", config.read_text())
        config.write_text(text)
        (tmp_path / "sim").mkdir()
        (tmp_path / "sim" / "kept").write_text("someone else's")
        done = subprocess.run([sys.executable, "-m", "edge.cli", "sim", "gate", "--config", str(config)],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in done.stderr and "stop it first" in done.stderr
    assert (tmp_path / "sim" / "kept").exists()
