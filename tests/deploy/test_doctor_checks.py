"""`echannel doctor`: each check passes on a working part and fails with a useful message and fix on a
broken one. Real parts where they exist here: mosquitto (plain and TLS), gpiozero's MockFactory, OpenCV on a
video file, files and certificates on disk. The end-to-end run against the whole simulated gate is the
lead's, after merging."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.doctor import DoctorContext, Status, run_checks
from edge.doctor.report import load_lenient
from simulators.processes import ChildProcess, free_port, port_open, wait_until
from tests.deploy import throwaway_pki as pki


def write_config(directory: Path, **sections: dict) -> Path:
    """A gate.toml with the given sections (values as Python), panel on the mock factory by default."""
    sections.setdefault("gate", {"site": "test-site", "gate_id": "gate-01"})
    sections.setdefault("panel", {"pin_factory": "mock"})
    sections.setdefault("telemetry", {})
    sections["telemetry"].setdefault("outbox", str(directory / "state" / "outbox.sqlite3"))
    (directory / "state").mkdir(exist_ok=True)
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path = directory / "gate.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_one(config: Path, name: str, timeout_s: float = 3.0):
    ctx = DoctorContext(config=load_lenient(config), config_path=config, timeout_s=timeout_s)
    [(_, result, _)] = run_checks(ctx, [name])
    return result


# --- broker ---------------------------------------------------------------------------------------------

def start_mosquitto(directory: Path, extra: str = "", anonymous: bool = True) -> tuple[ChildProcess, int]:
    port = free_port()
    conf = directory / f"mosquitto-{port}.conf"
    # As root, mosquitto would drop to its own user, which cannot read the test's private directory.
    user = "user root\n" if os.geteuid() == 0 else ""
    anonymous_line = f"allow_anonymous {str(anonymous).lower()}\n"
    conf.write_text(f"{user}listener {port} 127.0.0.1\n{anonymous_line}persistence false\n{extra}")
    broker = ChildProcess(["mosquitto", "-c", str(conf)], name="mosquitto", log_dir=directory).start()
    wait_until(lambda: port_open("127.0.0.1", port) or not broker.alive(), timeout=5, what="mosquitto listening")
    assert broker.alive(), broker.log_tail()
    return broker, port


@pytest.mark.broker
def test_broker_passes_while_mosquitto_runs_and_fails_with_a_fix_once_stopped(tmp_path: Path):
    broker, port = start_mosquitto(tmp_path)
    config = write_config(tmp_path, telemetry={"broker": f"mqtt://127.0.0.1:{port}"})
    try:
        result = run_one(config, "broker")
        assert result.status is Status.PASS, result
        assert f"127.0.0.1:{port}: connected" in result.message
    finally:
        broker.stop()
    result = run_one(config, "broker")
    assert result.status is Status.FAIL
    assert "cannot connect" in result.message and "refused" in result.message.lower()
    assert "broker is running" in result.fix


@pytest.mark.broker
def test_broker_over_tls_needs_the_right_ca(tmp_path: Path):
    ca_key, ca = pki.make_ca("Test broker CA")
    server_key, server = pki.make_server(ca_key, ca)
    tls = (f"cafile {pki.write_pem(tmp_path / 'ca.pem', ca)}\n"
           f"certfile {pki.write_pem(tmp_path / 'server.pem', server)}\n"
           f"keyfile {pki.write_pem(tmp_path / 'server.key', server_key)}\n")
    broker, port = start_mosquitto(tmp_path, tls)
    try:
        good = write_config(tmp_path, telemetry={"broker": f"mqtts://127.0.0.1:{port}", "ca_file": "ca.pem"})
        result = run_one(good, "broker")
        assert result.status is Status.PASS, result
        assert "(TLS)" in result.message

        _, other_ca = pki.make_ca("Some other CA")
        pki.write_pem(tmp_path / "other-ca.pem", other_ca)
        wrong = write_config(tmp_path, telemetry={"broker": f"mqtts://127.0.0.1:{port}", "ca_file": "other-ca.pem"})
        result = run_one(wrong, "broker")
        assert result.status is Status.FAIL
        assert "TLS handshake failed" in result.message and "certificate" in result.message.lower()
        assert "ca_file" in result.fix
    finally:
        broker.stop()


@pytest.mark.broker
def test_broker_refusing_the_credentials_is_reported_as_such(tmp_path: Path):
    if not shutil.which("mosquitto_passwd"):
        pytest.skip("mosquitto_passwd not installed")
    passwords = tmp_path / "passwords"
    os.system(f"mosquitto_passwd -b -c {passwords} gate-01 right-password >/dev/null 2>&1")
    broker, port = start_mosquitto(tmp_path, f"password_file {passwords}\n", anonymous=False)
    (tmp_path / "broker.pw").write_text("wrong-password\n")
    try:
        config = write_config(tmp_path, telemetry={"broker": f"mqtt://127.0.0.1:{port}", "username": "gate-01",
                                                   "password_file": "broker.pw"})
        result = run_one(config, "broker")
        assert result.status is Status.FAIL
        assert "refused the connection" in result.message
        assert "password_file" in result.fix
        (tmp_path / "broker.pw").write_text("right-password\n")
        assert run_one(config, "broker").status is Status.PASS
    finally:
        broker.stop()


def test_broker_check_is_skipped_when_telemetry_is_disabled(tmp_path: Path):
    config = write_config(tmp_path, telemetry={"enabled": False})
    assert run_one(config, "broker").status is Status.SKIP


# --- models ---------------------------------------------------------------------------------------------

def write_model(models: Path, name: str, content: bytes) -> Path:
    models.mkdir(exist_ok=True)
    (models / f"{name}.onnx").write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()
    (models / f"{name}.toml").write_text(f'name = "{name}"\nfile = "{name}.onnx"\nsha256 = "{digest}"\n')
    return models / f"{name}.onnx"


def test_models_pass_when_hashes_match_and_fail_naming_the_altered_file(tmp_path: Path):
    models = tmp_path / "models"
    write_model(models, "detector", b"detector weights" * 100)
    recogniser = write_model(models, "recogniser", b"recogniser weights" * 100)
    config = write_config(tmp_path, face={"models_dir": "models"})
    result = run_one(config, "models")
    assert result.status is Status.PASS and "2 model(s)" in result.message

    data = bytearray(recogniser.read_bytes())
    data[10] ^= 0xFF
    recogniser.write_bytes(bytes(data))
    result = run_one(config, "models")
    assert result.status is Status.FAIL
    assert "recogniser.onnx: sha256" in result.message and "detector" not in result.message
    assert "fetch.py" in result.fix

    recogniser.unlink()
    assert "recogniser.onnx: missing" in run_one(config, "models").message


def test_models_check_is_skipped_until_there_is_a_manifest(tmp_path: Path):
    (tmp_path / "models").mkdir()
    config = write_config(tmp_path, face={"models_dir": "models"})
    result = run_one(config, "models")
    assert result.status is Status.SKIP and "no model manifest" in result.message


def test_output_checked_manifests_are_verified_by_the_face_module(tmp_path: Path, monkeypatch):
    """Manifests pinned by an output check go through edge.biometrics.models.open_session (the face area's
    interface); its ModelError becomes the failure message. The stand-in below only plays that interface."""
    import types

    models = tmp_path / "models"
    models.mkdir()
    (models / "sface.onnx").write_bytes(b"not really a model")
    (models / "sface.toml").write_text('name = "sface"\nfile = "sface.onnx"\n[check]\ntolerance = 1e-3\n')

    class ModelError(RuntimeError):
        pass

    def open_session(manifest):
        raise ModelError(f"{manifest}: outputs differ from the manifest's fingerprint")

    stand_in = types.ModuleType("edge.biometrics.models")
    stand_in.ModelError, stand_in.open_session = ModelError, open_session
    stand_in.load_manifest = lambda name, directory: name
    monkeypatch.setitem(sys.modules, "edge.biometrics.models", stand_in)
    result = run_one(write_config(tmp_path, face={"models_dir": "models"}), "models")
    assert result.status is Status.FAIL
    assert "sface: sface: outputs differ" in result.message


# --- GPIO -----------------------------------------------------------------------------------------------

def test_gpio_pins_are_claimed_with_the_mock_factory(tmp_path: Path):
    result = run_one(write_config(tmp_path), "gpio")
    assert result.status is Status.PASS and "9 pins" in result.message and "mock" in result.message


def test_gpio_pin_used_twice_is_named(tmp_path: Path):
    result = run_one(write_config(tmp_path, panel={"pin_factory": "mock", "buzzer": 17}), "gpio")
    assert result.status is Status.FAIL
    assert "GPIO17: panel.buzzer, panel.fire_alarm" in result.message


def test_gpio_without_gpio_hardware_says_what_to_do(tmp_path: Path):
    if Path("/dev/gpiochip0").exists():
        pytest.skip("this machine has GPIO")
    result = run_one(write_config(tmp_path, panel={"pin_factory": "lgpio"}), "gpio")
    assert result.status is Status.FAIL
    assert "lgpio" in result.message and "gpio" in result.fix


# --- trust store ----------------------------------------------------------------------------------------

def make_trust_store(directory: Path, crl_next_update: dt.datetime, crl_age: dt.timedelta = dt.timedelta(hours=1)):
    directory.mkdir()
    key, csca = pki.make_ca()
    pki.write_pem(directory / "csca.pem", csca)
    crl = pki.make_crl(key, csca, pki.NOW - crl_age, crl_next_update)
    pki.write_pem(directory / "csca.crl", crl)


def test_trust_store_with_a_current_crl_passes(tmp_path: Path):
    make_trust_store(tmp_path / "trust", pki.NOW + dt.timedelta(days=2))
    result = run_one(write_config(tmp_path, document={"trust_store": "trust"}), "trust_store")
    assert result.status is Status.PASS, result
    assert "1 certificate(s), 1 CRL(s)" in result.message and "next update" in result.message


def test_trust_store_with_a_stale_crl_fails_and_names_it(tmp_path: Path):
    make_trust_store(tmp_path / "trust", pki.NOW - dt.timedelta(hours=3), crl_age=dt.timedelta(days=3))
    result = run_one(write_config(tmp_path, document={"trust_store": "trust"}), "trust_store")
    assert result.status is Status.FAIL
    assert "stale CRL(s): csca.crl" in result.message and "CRLs" in result.fix


def test_trust_store_missing_fails(tmp_path: Path):
    result = run_one(write_config(tmp_path, document={"trust_store": "nowhere"}), "trust_store")
    assert result.status is Status.FAIL and "does not exist" in result.message


def test_trust_store_with_an_unreadable_certificate_fails(tmp_path: Path):
    make_trust_store(tmp_path / "trust", pki.NOW + dt.timedelta(days=2))
    (tmp_path / "trust" / "broken.der").write_bytes(b"\x30\x03garbage")
    result = run_one(write_config(tmp_path, document={"trust_store": "trust"}), "trust_store")
    assert result.status is Status.FAIL and "broken.der" in result.message


# --- camera ---------------------------------------------------------------------------------------------

def test_camera_delivering_frames_passes_and_leaves_them_for_the_face_check(tmp_path: Path):
    import cv2

    video = tmp_path / "camera.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    for i in range(10):
        writer.write(np.full((480, 640, 3), i * 20, np.uint8))
    writer.release()
    config = write_config(tmp_path, face={"camera": str(video)})
    ctx = DoctorContext(config=load_lenient(config), config_path=config, timeout_s=3)
    [(_, result, _)] = run_checks(ctx, ["camera"])
    assert result.status is Status.PASS, result
    assert "5 frame(s) of 640x480" in result.message
    assert len(ctx.shared["camera.frames"]) == 5


def test_camera_missing_fails_with_the_group_hint(tmp_path: Path):
    result = run_one(write_config(tmp_path, face={"camera": "/dev/video97"}), "camera")
    assert result.status is Status.FAIL and "no such device" in result.message and "'video' group" in result.fix


# --- doors ----------------------------------------------------------------------------------------------

def test_doors_check_passes_with_the_firmware_version_and_fails_naming_the_port_once_the_controller_is_gone(
    tmp_path: Path,
):
    """The check talks to the real firmware logic (the door-controller rig behind a pty) through the
    daemon's own door adapter."""
    from simulators.doors.rig import DoorRig

    link = str(tmp_path / "doors")
    config = write_config(tmp_path, doors={"port": link})
    with DoorRig(link=link):
        result = run_one(config, "doors")
        assert result.status is Status.PASS, result
        assert result.message.startswith(f"{link}: firmware ") and result.details["firmware"]
    result = run_one(config, "doors")
    assert result.status is Status.FAIL and link in result.message
    assert "door controller" in result.fix and "doors.port" in result.fix


def test_doors_check_on_a_port_where_nothing_answers_says_what_to_check(tmp_path: Path):
    master, slave = os.openpty()  # a serial line with nobody on the other end
    port = os.ttyname(slave)
    try:
        result = run_one(write_config(tmp_path, doors={"port": port}), "doors", timeout_s=1.5)
    finally:
        os.close(master)
        os.close(slave)
    assert result.status is Status.FAIL and port in result.message and "no answer to HELLO" in result.message
    assert "baudrate" in result.fix and "firmware" in result.fix


# --- reader, clock, disk --------------------------------------------------------------------------------

def test_reader_without_pcscd_says_to_start_it(tmp_path: Path):
    if Path("/run/pcscd/pcscd.comm").exists():
        pytest.skip("a pcscd is running (another area's tests): its readers decide this check")
    result = run_one(write_config(tmp_path), "reader")
    assert result.status is Status.FAIL and "pcscd" in result.message and "pcscd.socket" in result.fix


@pytest.mark.card
def test_reader_not_matching_the_pattern_lists_what_pcscd_sees(tmp_path: Path):
    if not Path("/run/pcscd/pcscd.comm").exists():
        pytest.skip("no pcscd running (only the card tests start one)")
    result = run_one(write_config(tmp_path, document={"reader": "No Such Reader 7"}), "reader")
    assert result.status is Status.FAIL
    assert "no reader matching 'No Such Reader 7'; pcscd sees:" in result.message
    assert "document.reader" in result.fix


def test_clock_check_names_its_source_or_says_it_cannot_tell(tmp_path: Path):
    result = run_one(write_config(tmp_path), "clock")
    if result.status is Status.PASS:
        assert result.details["source"] in ("timedatectl", "chronyc", "adjtimex")
    else:
        assert result.fix  # on this VM: no time daemon, kernel not marked synchronised


def test_outbox_directory_missing_fails(tmp_path: Path):
    config = write_config(tmp_path, telemetry={"outbox": str(tmp_path / "nowhere" / "outbox.sqlite3")})
    result = run_one(config, "disk")
    assert result.status is Status.FAIL and "does not exist" in result.message and "StateDirectory" in result.fix


def test_outbox_larger_than_the_free_space_fails(tmp_path: Path):
    config = write_config(tmp_path, telemetry={"outbox_max_events": 10_000_000})
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    result = run_one(config, "disk")
    expected = Status.FAIL if free < 10_000_000 * 2048 else Status.WARN if free < 2 * 10_000_000 * 2048 else Status.PASS
    assert result.status is expected


# --- the command ----------------------------------------------------------------------------------------

def doctor(config: Path, *extra: str) -> tuple[int, str, str]:
    from edge.cli import main

    out, err = io.StringIO(), io.StringIO()
    sys_out, sys_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(["doctor", "--config", str(config), *extra])
    finally:
        sys.stdout, sys.stderr = sys_out, sys_err
    return code, out.getvalue(), err.getvalue()


def test_exit_status_is_zero_when_nothing_fails_and_one_when_something_does(tmp_path: Path):
    config = write_config(tmp_path, document={"trust_store": "nowhere"})
    assert doctor(config, "--only", "gpio")[0] == 0
    code, out, _ = doctor(config, "--only", "gpio", "--only", "trust_store")
    assert code == 1
    assert "FAIL  trust_store" in out and "fix: copy the CSCA" in out and "PASS  gpio" in out


def test_json_output_lists_every_check_with_status_message_and_fix(tmp_path: Path):
    config = write_config(tmp_path, document={"trust_store": "nowhere"}, telemetry={"enabled": False})
    code, out, _ = doctor(config, "--json", "--skip", "clock", "--skip", "reader", "--skip", "camera")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    by_name = {c["name"]: c for c in report["checks"]}
    assert {"config", "disk", "trust_store", "doors", "gpio", "broker", "models"} <= set(by_name)
    assert "clock" not in by_name
    assert by_name["trust_store"]["status"] == "fail" and by_name["trust_store"]["fix"]
    assert by_name["broker"]["status"] == "skip"
    assert all({"status", "message", "fix", "title", "seconds", "details"} <= set(c) for c in report["checks"])


def test_an_unreadable_configuration_exits_2_naming_the_key(tmp_path: Path):
    config = write_config(tmp_path, panel={"pin_factory": "wiringpi"})
    code, _, err = doctor(config)
    assert code == 2 and "panel.pin_factory" in err


def test_a_crashing_check_becomes_a_failure_not_a_crash(tmp_path: Path, monkeypatch):
    from edge.doctor.checks import system

    monkeypatch.setattr(system.os, "statvfs", lambda _p: 1 / 0)
    result = run_one(write_config(tmp_path), "disk")
    assert result.status is Status.FAIL and "ZeroDivisionError" in result.message


def test_an_area_adds_a_check_that_uses_the_camera_frames(tmp_path: Path, monkeypatch):
    """How the face area plugs in "camera sees a face": a module edge/<area>/doctor_checks.py registering a
    check that runs after the camera check and reads the frames it left behind."""
    from edge.doctor import framework

    monkeypatch.setattr(framework, "_REGISTRY", dict(framework._REGISTRY))
    (tmp_path / "demo_area_checks.py").write_text(
        "from edge.doctor import Result, check\n"
        "@check('face', title='camera sees a face', after='camera')\n"
        "def face(ctx):\n"
        "    frames = ctx.shared.get('camera.frames')\n"
        "    return Result.ok(f'looked at {len(frames)} frames') if frames else Result.skip('no frames')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(framework, "AREA_CHECK_MODULES", ("demo_area_checks", "edge.nothing_here.doctor_checks"))
    import cv2

    video = tmp_path / "camera.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    for _ in range(6):
        writer.write(np.zeros((480, 640, 3), np.uint8))
    writer.release()
    config = write_config(tmp_path, face={"camera": str(video)})
    ctx = DoctorContext(config=load_lenient(config), config_path=config)
    results = run_checks(ctx, ["face", "camera"])
    assert [(c.name, r.status) for c, r, _ in results] == [("camera", Status.PASS), ("face", Status.PASS)]
    assert results[1][1].message == "looked at 5 frames"


def test_a_model_checked_only_by_its_outputs_warns_until_its_sha256_is_recorded(tmp_path: Path, monkeypatch):
    """The output check misses most single-bit changes, so the digest fetch.py records beside a model counts."""
    import types

    models = tmp_path / "models"
    models.mkdir()
    model = models / "sface.onnx"
    model.write_bytes(b"weights" * 100)
    (models / "sface.toml").write_text('name = "sface"\nfile = "sface.onnx"\n[check]\ntolerance = 1e-3\n')
    stand_in = types.ModuleType("edge.biometrics.models")  # outputs as the manifest says
    stand_in.ModelError, stand_in.open_session = RuntimeError, lambda manifest: None
    stand_in.load_manifest = lambda name, directory: name
    monkeypatch.setitem(sys.modules, "edge.biometrics.models", stand_in)
    config = write_config(tmp_path, face={"models_dir": "models"})

    result = run_one(config, "models")
    assert result.status is Status.WARN and "no recorded sha256 for sface.onnx" in result.message
    assert "models/fetch.py" in result.fix

    (models / "sface.onnx.sha256").write_text(f"{hashlib.sha256(model.read_bytes()).hexdigest()}  sface.onnx\n")
    result = run_one(config, "models")
    assert result.status is Status.PASS and "sface.onnx (sha256 and outputs)" in result.message

    model.write_bytes(b"weightz" + model.read_bytes()[7:])
    result = run_one(config, "models")
    assert result.status is Status.FAIL and result.message.startswith("sface.onnx: altered or damaged")
    assert "fetch.py --force" in result.fix
