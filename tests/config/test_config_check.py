"""`echannel config check`: every problem on its own line naming the key, exit code 2, no traceback."""

from __future__ import annotations

import itertools
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from edge.config import ConfigError, GateConfig, load_config
from edge.config.example import render
from edge.config.validate import parse_config

REPO = Path(__file__).resolve().parents[2]


def check(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", "config", "check", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.toml"
    path.write_text(text)
    return path


MINIMAL = '[gate]\nsite = "s1"\ngate_id = "g1"\n'


def test_three_problems_give_three_lines_and_exit_2(tmp_path):
    path = write(
        tmp_path,
        '[gate]\nsite = "s1"\ngate_id = "g1"\ncolour = "blue"\n'
        "[gate.timeouts]\nface_capture_s = 30\n"
        '[face]\nthreshold = "high"\n',
    )
    result = check(path, "--no-devices")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"{path}: gate.colour: unknown key",
        f"{path}: gate.timeouts.face_capture_s: 30.0 is above the maximum 10",
        f"{path}: face.threshold: expected a number, got a string",
    ]
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_and_malformed_files_are_one_clear_line(tmp_path):
    missing = check(tmp_path / "nope.toml")
    assert missing.returncode == 2
    assert missing.stderr.strip().endswith("no such configuration file")
    broken = check(write(tmp_path, "[gate\nsite = 1\n"))
    assert broken.returncode == 2
    assert "not valid TOML" in broken.stderr and "Traceback" not in broken.stderr


def test_devices_and_files_named_in_the_configuration_must_exist(tmp_path):
    path = write(tmp_path, MINIMAL + '[doors]\nport = "/dev/no-such-door-controller"\n[face]\nmodels_dir = "nowhere"\n')
    result = check(path)
    assert result.returncode == 2
    assert f"{path}: doors.port: /dev/no-such-door-controller: no such device" in result.stderr
    assert f"{path}: face.models_dir: nowhere: no such dir" in result.stderr
    # A simulated gate's devices appear only while its simulators run: --no-devices skips them.
    assert "doors.port" not in check(path, "--no-devices").stderr


def test_required_keys_and_misspellings_are_named(tmp_path):
    with pytest.raises(ConfigError) as error:
        parse_config({"gate": {"site": "s", "gate_ld": "g"}}, GateConfig)
    assert error.value.problems == [
        "gate.gate_ld: unknown key (did you mean 'gate_id'?)",
        "gate.gate_id: required key is missing",
    ]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"gate": {"start_in_service": 1}}, "gate.start_in_service: expected true or false, got an integer"),
        ({"face": {"width": 2.5}}, "face.width: expected an integer, got a number"),
        ({"document": {"access_control": "eac"}}, "document.access_control: 'eac' is not one of 'pace', 'bac'"),
        ({"gate": {"timeouts": {"referral_s": True}}}, "gate.timeouts.referral_s: expected a number, got a boolean"),
        ({"gate": {"timeouts": 5}}, "gate.timeouts: expected a table, got an integer"),
        ({"doors": {"retries": -1}}, "doors.retries: -1 is below the minimum 0"),
    ],
)
def test_wrong_values_are_reported_by_key(raw, problem):
    raw = {**raw, "gate": {"site": "s", "gate_id": "g", **raw.get("gate", {})}}
    with pytest.raises(ConfigError) as error:
        parse_config(raw, GateConfig)
    assert error.value.problems == [problem]


def test_the_shipped_simulated_configuration_is_valid():
    config = load_config(REPO / "config" / "simulated.toml", check_devices=False)
    assert config.panel.pin_factory == "mock"
    assert config.gate.timeouts.face_capture_s <= 10


def test_the_shipped_example_documents_every_key_and_is_current():
    text = (REPO / "config" / "gate.example.toml").read_text()
    assert text == render(), "regenerate: echannel config example > config/gate.example.toml"
    parse_config(tomllib.loads(text), GateConfig)  # and it is itself a valid configuration
    lines = text.splitlines()
    for previous, line in itertools.pairwise(lines):
        if line and not line.startswith(("#", "[")):
            assert previous.startswith("# "), f"key without its comment: {line}"
