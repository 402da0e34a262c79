"""`echannel doctor` against the simulated gate: every device is the real thing that runs here (mosquitto, our
pcscd with the virtual reader and the card emulator, the door firmware's logic behind a pty, the camera's MJPEG
stream, the real models), and the doctor is the command a field engineer types.

The gate is config/simulated.toml with only its work directory and TCP ports moved (a private directory,
free ports), so that this test can run while someone else's simulated gate is up: SimulatedGate.start()
empties its work directory, and the broker and camera ports are fixed in config/simulated.toml. The one
thing that cannot be doubled is pcscd: CardRig waits for the machine-wide pcscd lock.

The clock check is skipped: this VM has no NTP client, and the kernel clock is not marked synchronised, so
it fails here for a true reason that is not the simulated gate's (on a gate unit it must pass).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.simulated_gate import ROOT, simulated_config

pytestmark = [pytest.mark.card, pytest.mark.broker, pytest.mark.timeout(300)]  # the pcscd lock may be held

SKIP = ["--skip", "clock"]  # no NTP on this VM (see the module docstring)


def echannel_doctor(config: Path, *args: str) -> tuple[int, dict[str, dict]]:
    """Run `echannel doctor --config FILE --json ...`; return its exit status and the checks by name."""
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "doctor", "--config", str(config), "--json", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.stdout, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] == (done.returncode == 0)
    return done.returncode, {c["name"]: c for c in report["checks"]}


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory):
    """The simulated gate, up for the module, a test passport on the reader."""
    from edge.config import load_config
    from simulators.launcher import SimulatedGate

    directory = tmp_path_factory.mktemp("simulated-gate")
    config_file = simulated_config(directory, directory / "sim", ROOT / "models")
    sim = SimulatedGate(load_config(config_file, check_devices=False))
    sim.start()
    try:
        sim.card.present(sim.document("obama", "TD3", None))
        yield sim, config_file
    finally:
        sim.doors.stop()  # a test may have replaced the door controller (a stopped rig does not restart)
        sim.stop()


def test_every_check_passes_against_the_simulated_gate(gate):
    _sim, config_file = gate
    status, checks = echannel_doctor(config_file, *SKIP)
    failed = {name: c["message"] for name, c in checks.items() if c["status"] != "pass"}
    assert status == 0 and not failed
    assert set(checks) >= {"config", "disk", "reader", "trust_store", "camera", "doors", "gpio", "broker", "models"}
    assert "clock" not in checks
    assert "echannel vpcd 00 00: card answers" in checks["reader"]["message"]
    assert checks["doors"]["details"]["firmware"]
    assert checks["models"]["message"] == "2 model(s) verified: sface.onnx (sha256 and outputs), yunet.onnx " \
        "(sha256 and outputs)"


def test_with_the_door_controller_stopped_the_doors_check_fails_naming_the_port_and_the_fix(gate):
    sim, config_file = gate
    port = sim.config.doors.port
    from simulators.doors.rig import DoorRig

    sim.doors.stop()
    try:
        status, checks = echannel_doctor(config_file, *SKIP)
    finally:
        sim.doors = DoorRig(link=port).start()  # a controller on the same link again (the gate fixture stops it)
    assert status == 1
    # The configuration check, which requires every device it names to exist, says so too.
    assert {name for name, c in checks.items() if c["status"] == "fail"} == {"doors", "config"}
    assert "doors.port" in checks["config"]["message"]
    doors = checks["doors"]
    assert port in doors["message"] and "no such device" in doors["message"]
    assert "door controller" in doors["fix"] and "doors.port" in doors["fix"]
    assert echannel_doctor(config_file, "--only", "doors")[0] == 0  # back once the controller is


def test_with_the_broker_down_the_broker_check_fails_naming_the_broker(gate):
    sim, config_file = gate
    sim.broker.stop()
    try:
        status, checks = echannel_doctor(config_file, "--only", "broker")
    finally:
        sim.broker.start()
    broker = checks["broker"]
    assert status == 1 and broker["status"] == "fail"
    where = sim.config.telemetry.broker.removeprefix("mqtt://")
    assert broker["message"].startswith(f"{where}: cannot connect")
    assert "broker is running" in broker["fix"] and "outbox" in broker["fix"]


def test_with_one_byte_of_a_model_altered_the_models_check_fails_naming_the_model_and_the_fix(gate, tmp_path):
    _sim, config_file = gate
    models = tmp_path / "models"
    shutil.copytree(ROOT / "models", models, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    assert (models / "sface.onnx.sha256").exists(), "models/fetch.py records each model's digest"
    altered = models / "sface.onnx"
    with open(altered, "r+b") as stream:  # one bit of a weight deep in the file: outputs barely move
        stream.seek(os.path.getsize(altered) // 2)
        byte = stream.read(1)
        stream.seek(-1, os.SEEK_CUR)
        stream.write(bytes([byte[0] ^ 0x01]))
    moved = tmp_path / "simulated.toml"
    text = config_file.read_text()
    moved.write_text(text.replace(f"models_dir = {json.dumps(str(ROOT / 'models'))}",
                                  f"models_dir = {json.dumps(str(models))}"))
    assert moved.read_text() != text

    status, checks = echannel_doctor(moved, "--only", "models")
    result = checks["models"]
    assert status == 1 and result["status"] == "fail"
    assert result["message"].startswith("sface.onnx: altered or damaged") and "yunet" not in result["message"]
    assert "models/fetch.py --force" in result["fix"]
