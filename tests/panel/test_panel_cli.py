"""`echannel panel inputs` reads the panel's inputs through the configured pin factory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ECHANNEL = str(Path(sys.executable).with_name("echannel"))


def test_panel_inputs_on_unwired_pins_show_fire_and_tamper(tmp_path):
    """Nothing wired: the pull-ups win, which reads as fire and an open cabinet (the fail-safe reading)."""
    config = tmp_path / "gate.toml"
    config.write_text('[gate]\nsite = "t"\ngate_id = "g1"\n[panel]\npin_factory = "mock"\ndebounce_s = 0.01\n')
    result = subprocess.run([ECHANNEL, "panel", "inputs", "--config", str(config)], capture_output=True, text=True,
                            timeout=30)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "inputs: fire_alarm, tamper" in result.stdout
    assert "FireAlarmOn()" in result.stdout and "TamperAlarm()" in result.stdout


def test_a_bad_panel_configuration_names_the_key(tmp_path):
    config = tmp_path / "gate.toml"
    config.write_text('[gate]\nsite = "t"\ngate_id = "g1"\n[panel]\npin_factory = "mock"\nbuzzer = 99\n')
    result = subprocess.run([ECHANNEL, "panel", "inputs", "--config", str(config)], capture_output=True, text=True,
                            timeout=30)  # fmt: skip
    assert result.returncode == 2 and "panel.buzzer" in result.stderr
