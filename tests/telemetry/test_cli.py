"""`echannel keys generate`, `echannel command` and `echannel monitor --once` against a real broker and gate."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.gate import events as ev
from edge.gate.actions import CommandResult, PublishState, State
from edge.gate.records import Outcome, TransactionRecord
from edge.telemetry.adapter import MqttTelemetry
from edge.telemetry.payloads import GateMetadata
from edge.telemetry.settings import TelemetrySettings

pytestmark = pytest.mark.broker
ECHANNEL = [sys.executable, "-m", "edge.cli"]


def echannel(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ECHANNEL, *args], capture_output=True, text=True, timeout=timeout)


def test_keys_generate_writes_a_pair_and_refuses_to_overwrite(tmp_path: Path) -> None:
    done = echannel("keys", "generate", "--dir", str(tmp_path), "--name", "hq")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "hq.key").stat().st_mode & 0o777 == 0o600 and (tmp_path / "hq.pub").exists()
    assert echannel("keys", "generate", "--dir", str(tmp_path), "--name", "hq").returncode == 2


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_command_sends_a_signed_command_and_prints_the_answer(broker, tmp_path: Path, protocol: str) -> None:
    assert echannel("keys", "generate", "--dir", str(tmp_path / "keys"), "--name", "hq").returncode == 0
    settings = TelemetrySettings(
        broker=broker.url, outbox=str(tmp_path / "o.sqlite3"), command_keys=str(tmp_path / "keys"), protocol=protocol
    )
    telemetry: MqttTelemetry

    def gate_core(event: ev.Event) -> None:  # the gate core accepts going out of service
        assert isinstance(event, ev.OutOfService)
        telemetry.command_result(CommandResult(event.command_id, "OutOfService", True))

    telemetry = MqttTelemetry(settings, "s1", "g1", GateMetadata("x"))
    telemetry.start(gate_core)
    assert telemetry.wait_connected(10)
    try:
        base = [
            "--broker",
            broker.url,
            "--site",
            "s1",
            "--key",
            str(tmp_path / "keys" / "hq.key"),
            "--protocol",
            protocol,
        ]
        done = echannel("command", *base, "g1", "out_of_service")
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert answer["accepted"] is True and answer["action"] == "out_of_service"
        refused = echannel("command", *base, "g1", "set_face_threshold", "0.05")
        assert refused.returncode == 1 and json.loads(refused.stdout)["reason"] == "invalid_argument"
        nobody = echannel("command", *base, "--timeout", "1", "g9", "rebirth")
        assert nobody.returncode == 3
    finally:
        telemetry.stop()


def test_monitor_once_prints_every_gate(broker, tmp_path: Path) -> None:
    gates = []
    for gate_id in ("g1", "g2"):
        settings = TelemetrySettings(broker=broker.url, outbox=str(tmp_path / f"{gate_id}.sqlite3"))
        telemetry = MqttTelemetry(settings, "s1", gate_id, GateMetadata("x"))
        telemetry.start()
        assert telemetry.wait_connected(10)
        telemetry.publish_state(PublishState(State.IDLE, None, (), "in_service"), {"entry": "closed", "exit": "open"})
        telemetry.publish_record(TransactionRecord("t", time.time() - 5, time.time(), Outcome.CLEARED, "ok"))
        gates.append(telemetry)
    gates[1].stop()  # graceful stop: offline
    try:
        done = echannel("monitor", "--broker", broker.url, "--site", "s1", "--once", "1.5")
        assert done.returncode == 0, done.stderr
        lines = {line.split()[0]: line for line in done.stdout.splitlines()[2:] if line.strip()}
        assert "online" in lines["g1"] and "idle" in lines["g1"]
        assert "OFFLINE" in lines["g2"]
    finally:
        gates[0].stop()


def test_monitor_over_tls(tmp_path: Path) -> None:
    from simulators.mqtt_broker import MosquittoBroker

    with MosquittoBroker(tmp_path / "tls", tls=True) as broker:
        settings = TelemetrySettings(broker=broker.url, ca_file=broker.pki.ca_file, outbox=str(tmp_path / "o.sqlite3"))
        telemetry = MqttTelemetry(settings, "s1", "g7", GateMetadata("x"))
        telemetry.start()
        try:
            assert telemetry.wait_connected(10)
            done = echannel(
                "monitor", "--broker", broker.url, "--ca-file", broker.pki.ca_file, "--site", "s1", "--once", "1.5"
            )
            assert done.returncode == 0, done.stderr
            assert "g7" in done.stdout and "online" in done.stdout
        finally:
            telemetry.stop()
