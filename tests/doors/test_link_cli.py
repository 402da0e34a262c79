"""`echannel doors probe` against `echannel sim doors`: both as child processes, exactly as on a gate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from simulators.processes import ChildProcess, wait_until

ECHANNEL = str(Path(sys.executable).with_name("echannel"))


def announced(child: ChildProcess) -> dict:
    found: dict = {}

    def ready() -> bool:
        for line in child.log_tail(50).splitlines():
            if line.startswith("{") and "link" in line:
                found.update(json.loads(line))
                return True
        assert child.alive(), child.log_tail()
        return False

    wait_until(ready, timeout=15, what="echannel sim doors")
    return found


def test_probe_reports_the_firmware_and_the_doors_without_moving_them(tmp_path):
    with ChildProcess([ECHANNEL, "sim", "doors", "--link", str(tmp_path / "doors")], name="sim-doors",
                      log_dir=tmp_path) as rig:  # fmt: skip
        where = announced(rig)
        probe = subprocess.run(
            [ECHANNEL, "doors", "probe", "--port", where["link"], "--seconds", "1"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert f"link up on {where['link']}, firmware 1.0.0" in probe.stdout
    assert "entry door:" in probe.stdout and "exit door:" in probe.stdout
    assert "commands=0" in probe.stdout  # it only listened


def test_probe_says_when_nobody_answers(tmp_path):
    probe = subprocess.run(
        [ECHANNEL, "doors", "probe", "--port", str(tmp_path / "missing"), "--seconds", "1.1"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert probe.returncode == 1
    assert "closed" in probe.stdout and "LinkLost" in probe.stdout
