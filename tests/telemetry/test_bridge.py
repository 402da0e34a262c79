"""The shipped mosquitto configuration (config/mosquitto/): a site broker with TLS, passwords and the ACL,
bridged to a headquarters broker; tested with two real brokers. Only host-specific values (ports, file
paths, the site id) are replaced."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from edge.gate.actions import CommandResult, PublishState, State
from edge.gate.records import Alarm, AlarmKind
from edge.telemetry.adapter import MqttTelemetry
from edge.telemetry.commands import sign_command
from edge.telemetry.payloads import GateMetadata
from edge.telemetry.settings import TelemetrySettings
from simulators.mqtt_broker import MosquittoBroker, make_test_pki
from simulators.processes import free_port, wait_until

pytestmark = pytest.mark.broker
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "mosquitto"


def adapt(text: str, replacements: dict[str, str]) -> str:
    for pattern, value in replacements.items():
        text, count = re.subn(pattern, value, text, flags=re.M)
        assert count, f"{pattern!r} is no longer in the shipped configuration"
    return text


def tls_client(port: int, pki, **kwargs) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, **kwargs)
    client.tls_set(ca_certs=pki.ca_file, certfile=pki.client_cert, keyfile=pki.client_key)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_site_broker_bridges_gate_topics_to_headquarters_and_commands_back(tmp_path: Path, control_room_key):
    key, keys_dir, key_id = control_room_key
    hq_pki, site_pki = make_test_pki(tmp_path / "hq-pki"), make_test_pki(tmp_path / "site-pki")
    hq_port, site_port = free_port(), free_port()
    hq_conf = adapt(
        (SHIPPED / "hq.conf").read_text(),
        {
            r"^listener 8883$": f"listener {hq_port} 127.0.0.1",
            r"^persistence_location .*$": f"persistence_location {tmp_path}/hq/",
            r"^cafile .*$": f"cafile {hq_pki.ca_file}",
            r"^certfile .*$": f"certfile {hq_pki.server_cert}",
            r"^keyfile .*$": f"keyfile {hq_pki.server_key}",
        },
    )
    bridges = tmp_path / "echannel.d"
    bridges.mkdir()
    (bridges / "bridge-to-hq.conf").write_text(
        adapt(
            (SHIPPED / "bridge-to-hq.conf").read_text(),
            {
                r"^address .*$": f"address 127.0.0.1:{hq_port}",
                r"^restart_timeout .*$": "restart_timeout 1 2",
                r"^bridge_cafile .*$": f"bridge_cafile {hq_pki.ca_file}",
                r"^bridge_certfile .*$": f"bridge_certfile {hq_pki.client_cert}",
                r"^bridge_keyfile .*$": f"bridge_keyfile {hq_pki.client_key}",
                r"example-site": "s1",
            },
        )
    )
    passwords = tmp_path / "echannel.passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "g1", "gate-secret"], check=True)
    acl = tmp_path / "echannel.acl"
    acl.write_text((SHIPPED / "echannel.acl").read_text())
    site_conf = adapt(
        (SHIPPED / "site.conf").read_text(),
        {
            r"^listener 8883$": f"listener {site_port} 127.0.0.1",
            r"^persistence_location .*$": f"persistence_location {tmp_path}/site/",
            r"^cafile .*$": f"cafile {site_pki.ca_file}",
            r"^certfile .*$": f"certfile {site_pki.server_cert}",
            r"^keyfile .*$": f"keyfile {site_pki.server_key}",
            r"^password_file .*$": f"password_file {passwords}",
            r"^acl_file .*$": f"acl_file {acl}",
            r"^include_dir .*$": f"include_dir {bridges}",
        },
    )
    (tmp_path / "gate.pw").write_text("gate-secret\n")
    for name in ("hq", "site"):
        (tmp_path / name).mkdir()

    with (
        MosquittoBroker(tmp_path / "hq", port=hq_port, name="hq", config_text=hq_conf),
        MosquittoBroker(tmp_path / "site", port=site_port, name="site", config_text=site_conf),
    ):
        seen: list[tuple[str, dict, bool]] = []
        control_room = tls_client(hq_port, hq_pki)
        control_room.on_message = lambda c, u, m: seen.append((m.topic, json.loads(m.payload), bool(m.retain)))
        control_room.subscribe("echannel/v1/#", qos=1)
        wait_until(lambda: _bridge_up(hq_port, hq_pki), timeout=15, what="the bridge to connect")

        settings = TelemetrySettings(
            broker=f"mqtts://127.0.0.1:{site_port}",
            ca_file=site_pki.ca_file,
            username="g1",
            password_file=str(tmp_path / "gate.pw"),
            outbox=str(tmp_path / "o.sqlite3"),
            command_keys=str(keys_dir),
        )
        emitted: list = []
        gate = MqttTelemetry(settings, "s1", "g1", GateMetadata("0.9"))
        gate.start(emitted.append)
        try:
            assert gate.wait_connected(10)
            gate.publish_state(PublishState(State.IDLE, None, (), "in_service"), {"entry": "closed"})
            gate.publish_alarm(Alarm(AlarmKind.TAMPER, time.time()))
            wait_until(
                lambda: {t.rsplit("/", 1)[-1] for t, _, _ in seen} >= {"birth", "availability", "state", "events"},
                timeout=10,
                what="the gate's topics at headquarters",
            )
            wait_until(lambda: gate.store.pending() == 0, timeout=5, what="the outbox emptied by PUBACKs")

            command = sign_command(
                key,
                key_id,
                site="s1",
                gate="g1",
                action="out_of_service",
                now=time.time(),
                response_topic="echannel/v1/s1/g1/responses/hq",
            )
            control_room.publish("echannel/v1/s1/g1/commands", json.dumps(command), qos=1)
            wait_until(lambda: emitted, timeout=10, what="the command at the gate")
            gate.command_result(CommandResult(command["id"], "OutOfService", True))
            wait_until(
                lambda: any(t.endswith("/responses/hq") for t, _, _ in seen),
                timeout=10,
                what="the answer at headquarters",
            )
            answer = next(p for t, p, _ in seen if t.endswith("/responses/hq"))
            assert answer["accepted"] and answer["command_id"] == command["id"]
        finally:
            gate.stop()
            control_room.loop_stop()


def _bridge_up(port: int, pki) -> bool:
    state: list[bytes] = []
    probe = tls_client(port, pki)
    probe.on_message = lambda c, u, m: state.append(m.payload)
    probe.subscribe("$SYS/broker/connection/+/state")
    time.sleep(0.3)
    probe.loop_stop()
    probe.disconnect()
    return b"1" in state
