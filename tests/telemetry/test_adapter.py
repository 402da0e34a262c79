"""MqttTelemetry against a real mosquitto: what it publishes, how it answers commands, TLS, last will."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import jsonschema
import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.gate import events as ev
from edge.gate.actions import CommandResult, PublishState, State
from edge.gate.records import Alarm, AlarmKind, Outcome, TransactionRecord
from edge.ports import Health
from edge.telemetry import payloads
from edge.telemetry.adapter import MqttTelemetry
from edge.telemetry.commands import sign_command
from edge.telemetry.settings import TelemetrySettings
from edge.telemetry.topics import GateTopics, parse_topic
from simulators.mqtt_broker import MosquittoBroker
from simulators.processes import ChildProcess, wait_until

pytestmark = pytest.mark.broker
TOPICS = GateTopics("echannel/v1", "s1", "g1")
PUBLISHER = Path(__file__).with_name("gate_publisher.py")


def make_telemetry(broker_url: str, tmp_path: Path, **overrides) -> tuple[MqttTelemetry, list[ev.Event]]:
    settings = TelemetrySettings(broker=broker_url, outbox=str(tmp_path / "outbox.sqlite3"), **overrides)
    emitted: list[ev.Event] = []
    telemetry = MqttTelemetry(
        settings,
        "s1",
        "g1",
        payloads.GateMetadata("0.9", "fw-2", {"sface": "abc"}, "cfg-1"),
        on_set_threshold=lambda value: thresholds.append(value),
        device_health=lambda: {"reader": Health(True, "ok"), "camera": Health(False, "no frames")},
    )
    telemetry.start(emitted.append)
    assert telemetry.wait_connected(10)
    return telemetry, emitted


thresholds: list[float] = []


def validate_all(messages) -> None:
    for message in messages:
        _site, _gate, kind = parse_topic("echannel/v1", message.topic)
        schema = payloads.load_schema(payloads.schema_for_topic_kind(kind))
        jsonschema.Draft202012Validator(schema).validate(message.json())
        assert payloads.privacy_problems(message.json()) == []


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_publishes_birth_availability_state_events_and_metrics(broker, observe, tmp_path, protocol) -> None:
    observer = observe(broker.port)
    telemetry, _ = make_telemetry(broker.url, tmp_path, protocol=protocol)
    try:
        telemetry.publish_state(PublishState(State.IDLE, None, (), "in_service"), {"entry": "closed", "exit": "closed"})
        telemetry.publish_record(TransactionRecord("t1", 1.0, 9.0, Outcome.REFERRED, "face_mismatch", {"a": 5.0}))
        telemetry.publish_alarm(Alarm(AlarmKind.TAILGATING, 9.0, "beams", "t1"))
        telemetry.publish_metrics()
        observer.wait_for(lambda o: len(o.of_kind("events")) == 2 and o.of_kind("metrics"), what="events")
    finally:
        telemetry.stop()
    observer.wait_for(lambda o: o.of_kind("availability")[-1].json()["status"] == "offline", what="offline")

    kinds = [parse_topic("echannel/v1", m.topic)[2] for m in observer.messages]
    assert kinds.index("birth") < kinds.index("availability") < kinds.index("events")
    birth = observer.of_kind("birth")[0].json()
    assert birth["software"] == "0.9" and birth["models"] == {"sface": "abc"} and birth["config_hash"] == "cfg-1"
    events = [m.json() for m in observer.of_kind("events")]
    assert [e["type"] for e in events] == ["transaction", "alarm"]
    assert events[1]["seq"] == events[0]["seq"] + 1 and events[0]["id"] != events[1]["id"]
    metrics = observer.of_kind("metrics")[0].json()
    assert metrics["transactions"] == {"referred": 1} and metrics["devices"]["camera"]["ok"] is False
    validate_all(observer.messages)


def test_state_and_availability_are_retained_for_a_late_control_room(broker, observe, tmp_path) -> None:
    telemetry, _ = make_telemetry(broker.url, tmp_path)
    try:
        telemetry.publish_state(PublishState(State.OUT_OF_SERVICE, None, ("fire",), "emergency"), {"entry": "open"})
        time.sleep(0.3)
        late = observe(broker.port)
        late.wait_for(lambda o: o.of_kind("state") and o.of_kind("availability") and o.of_kind("birth"))
        assert all(m.retain for m in late.messages)
        assert late.of_kind("state")[0].json()["alarms"] == ["fire"]
        assert late.of_kind("availability")[0].json()["status"] == "online"
    finally:
        telemetry.stop()


def command_client(port: int) -> tuple[mqtt.Client, list]:
    responses: list = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda c, u, m: responses.append((json.loads(m.payload), m.properties))
    client.connect("127.0.0.1", port)
    client.subscribe("echannel/v1/s1/g1/replies/#", qos=1)
    client.subscribe(TOPICS.responses, qos=1)
    client.loop_start()
    time.sleep(0.2)
    return client, responses


def send(client: mqtt.Client, payload: bytes, correlation: bytes) -> None:
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = "echannel/v1/s1/g1/replies/cr-1"
    props.CorrelationData = correlation
    client.publish(TOPICS.commands, payload, qos=1, properties=props)


def test_a_signed_command_becomes_a_gate_event_and_its_result_the_answer(broker, tmp_path, control_room_key):
    key, keys_dir, key_id = control_room_key
    telemetry, emitted = make_telemetry(broker.url, tmp_path, command_keys=str(keys_dir))
    client, responses = command_client(broker.port)
    try:
        command = sign_command(key, key_id, site="s1", gate="g1", action="out_of_service", now=time.time())
        send(client, json.dumps(command).encode(), b"corr-1")
        wait_until(lambda: emitted, timeout=5, what="the command as an event")
        assert emitted == [ev.OutOfService(command_id=command["id"], origin="control_room")]
        telemetry.command_result(CommandResult(command["id"], "OutOfService", True))
        wait_until(lambda: responses, timeout=5, what="the response")
        answer, props = responses[0]
        assert answer["accepted"] is True and answer["command_id"] == command["id"]
        assert answer["action"] == "out_of_service"
        assert props.CorrelationData == b"corr-1"
        jsonschema.validate(answer, payloads.load_schema("response"))
    finally:
        client.loop_stop()
        telemetry.stop()


def test_bad_commands_are_answered_with_a_reason_and_change_nothing(broker, tmp_path, control_room_key) -> None:
    key, keys_dir, key_id = control_room_key
    telemetry, emitted = make_telemetry(broker.url, tmp_path, command_keys=str(keys_dir))
    client, responses = command_client(broker.port)
    now = time.time()

    def make(action="emergency_open", **kw):
        return sign_command(kw.pop("signer", key), key_id, site="s1", gate="g1", action=action, **{"now": now} | kw)

    good = make("in_service")
    forged = make()
    forged["signature"] = make("in_service")["signature"]
    cases = [
        (b"{oops", "malformed"),
        (b"{" + b" " * 5000 + b"}", "oversized"),
        (json.dumps(make("open_all_doors")).encode(), "unknown_action"),
        (json.dumps(forged).encode(), "unauthorised"),
        (json.dumps(make(signer=Ed25519PrivateKey.generate())).encode(), "unauthorised"),
        (json.dumps(make(now=now - 3600)).encode(), "expired"),
        (json.dumps(make("set_face_threshold", args={"threshold": 0.99})).encode(), "invalid_argument"),
        (json.dumps(good).encode(), None),
        (json.dumps(good).encode(), "replayed"),
    ]
    try:
        for number, (payload, _) in enumerate(cases):
            send(client, payload, f"c{number}".encode())
        wait_until(lambda: len(responses) == len(cases) - 1, timeout=10, what="every rejection answered")
        by_correlation = {props.CorrelationData: answer for answer, props in responses}
        for number, (_, reason) in enumerate(cases):
            if reason is not None:
                answer = by_correlation[f"c{number}".encode()]
                assert (answer["accepted"], answer["reason"]) == (False, reason), number
        assert emitted == [ev.InService(command_id=good["id"], origin="control_room")]  # only the good one, once
        assert telemetry.counters["commands_rejected"] == len(cases) - 1
        assert thresholds == []
    finally:
        client.loop_stop()
        telemetry.stop()


def test_rebirth_and_face_threshold_are_handled_by_the_adapter(broker, observe, tmp_path, control_room_key):
    key, keys_dir, key_id = control_room_key
    telemetry, emitted = make_telemetry(broker.url, tmp_path, command_keys=str(keys_dir))
    observer = observe(broker.port, TOPICS.birth)
    client, responses = command_client(broker.port)
    try:
        births = len(observer.messages)
        send(
            client,
            json.dumps(sign_command(key, key_id, site="s1", gate="g1", action="rebirth", now=time.time())).encode(),
            b"r",
        )
        send(
            client,
            json.dumps(
                sign_command(
                    key,
                    key_id,
                    site="s1",
                    gate="g1",
                    action="set_face_threshold",
                    args={"threshold": 0.41},
                    now=time.time(),
                )
            ).encode(),
            b"t",
        )
        wait_until(lambda: len(responses) == 2, timeout=5, what="two answers")
        assert all(answer["accepted"] for answer, _ in responses)
        observer.wait_for(lambda o: len(o.messages) > births, what="a new birth")
        assert thresholds[-1] == 0.41 and emitted == []
    finally:
        client.loop_stop()
        telemetry.stop()


def test_mqtt_311_commands_name_their_response_topic_in_the_payload(broker, tmp_path, control_room_key) -> None:
    key, keys_dir, key_id = control_room_key
    telemetry, emitted = make_telemetry(broker.url, tmp_path, command_keys=str(keys_dir), protocol="3.1.1")
    client, responses = command_client(broker.port)
    try:
        command = sign_command(
            key,
            key_id,
            site="s1",
            gate="g1",
            action="reset_alarm",
            now=time.time(),
            response_topic="echannel/v1/s1/g1/replies/old-client",
        )
        client.publish(TOPICS.commands, json.dumps(command).encode(), qos=1)
        wait_until(lambda: emitted, timeout=5, what="the command")
        telemetry.command_result(CommandResult(command["id"], "Reset", False, "not_referred"))
        wait_until(lambda: responses, timeout=5, what="the answer")
        assert responses[0][0]["reason"] == "not_referred"
    finally:
        client.loop_stop()
        telemetry.stop()


def test_tls_with_server_verification_and_a_client_certificate(tmp_path, observe) -> None:
    with MosquittoBroker(tmp_path / "tls", tls=True, require_certificate=True) as broker:
        pki = broker.pki
        telemetry, _ = make_telemetry(
            broker.url, tmp_path, ca_file=pki.ca_file, client_cert=pki.client_cert, client_key=pki.client_key
        )
        telemetry.publish_alarm(Alarm(AlarmKind.FIRE, 1.0))
        wait_until(lambda: telemetry.store.pending() == 0, timeout=5, what="the alarm acknowledged")
        telemetry.stop()


def test_tls_refuses_a_broker_it_cannot_verify(tmp_path) -> None:
    with MosquittoBroker(tmp_path / "tls", tls=True) as broker:
        settings = TelemetrySettings(broker=broker.url, outbox=str(tmp_path / "o.sqlite3"))  # no CA: system store
        telemetry = MqttTelemetry(settings, "s1", "g1", payloads.GateMetadata("x"))
        telemetry.start()
        assert not telemetry.wait_connected(2)
        telemetry.publish_alarm(Alarm(AlarmKind.TAMPER, 1.0))
        assert telemetry.store.pending() == 1  # kept for when a trusted broker is reachable
        telemetry.stop()


def test_last_will_marks_a_crashed_gate_offline(broker, observe, tmp_path) -> None:
    observer = observe(broker.port, TOPICS.availability)
    gate = ChildProcess(
        [
            sys.executable,
            str(PUBLISHER),
            "--broker",
            broker.url,
            "--outbox",
            str(tmp_path / "o.sqlite3"),
            "--count",
            "1",
        ],
        name="gate",
        log_dir=tmp_path,
    ).start()
    try:
        observer.wait_for(lambda o: o.messages and o.messages[-1].json()["status"] == "online", what="online")
        bdseq = observer.messages[-1].json()["bdseq"]
        gate.stop(sig=signal.SIGKILL, timeout=5)
        observer.wait_for(lambda o: o.messages[-1].json()["status"] == "offline", timeout=40, what="last will")
        assert observer.messages[-1].json()["bdseq"] == bdseq  # the death matches the birth
    finally:
        gate.stop()


def test_outbox_raises_an_alarm_before_it_is_full_and_then_refuses(tmp_path) -> None:
    settings = TelemetrySettings(broker="mqtt://127.0.0.1:9", outbox=str(tmp_path / "o.sqlite3"), outbox_max_events=100)
    telemetry = MqttTelemetry(settings, "s1", "g1", payloads.GateMetadata("x"))
    for number in range(120):
        telemetry.publish_alarm(Alarm(AlarmKind.DOOR_FAULT, float(number), "jam"))
    assert telemetry.level.alarm and not telemetry.health().ok
    kinds = [json.loads(row.body)["kind"] for row in telemetry.store.after(0, 200)]
    assert kinds.index("outbox_nearly_full") == 80  # raised when 80 of 100 were waiting
    assert telemetry.store.pending() == 100
    assert telemetry.counters["outbox_dropped"] == 120 + 1 - 100
    telemetry.stop()


def test_privacy_guard_refuses_and_counts_a_payload_with_personal_data(tmp_path) -> None:
    settings = TelemetrySettings(broker="mqtt://127.0.0.1:9", outbox=str(tmp_path / "o.sqlite3"))
    telemetry = MqttTelemetry(settings, "s1", "g1", payloads.GateMetadata("x"))
    telemetry.publish_alarm(Alarm(AlarmKind.REFERRAL, 1.0, "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"))
    assert telemetry.store.pending() == 0 and telemetry.counters["privacy_refusals"] == 1
    telemetry.stop()


def test_the_window_follows_a_small_broker_receive_maximum_and_everything_flows(tmp_path, observe) -> None:
    with MosquittoBroker(tmp_path / "small", extra="max_inflight_messages 12\n") as broker:
        observer = observe(broker.port, TOPICS.events)
        telemetry, _ = make_telemetry(broker.url, tmp_path)
        try:
            for number in range(300):
                telemetry.publish_alarm(Alarm(AlarmKind.DOOR_FAULT, float(number), "jam"))
            observer.wait_for(lambda o: len(o.messages) >= 300, what="300 events")
            assert telemetry.flow.window == 12 - 8
            assert [m.json()["seq"] for m in observer.messages] == list(range(1, 301))
            assert telemetry.counters["broker_refusals"] == 0
        finally:
            telemetry.stop()


def test_an_outbox_failure_is_counted_not_raised(tmp_path) -> None:
    settings = TelemetrySettings(broker="mqtt://127.0.0.1:9", outbox=str(tmp_path / "o.sqlite3"))
    telemetry = MqttTelemetry(settings, "s1", "g1", payloads.GateMetadata("x"))
    telemetry.stop()  # closes the store
    telemetry.publish_record(TransactionRecord("t", 1.0, 2.0, Outcome.CLEARED, "ok"))
    assert telemetry.counters["outbox_errors"] == 1


def test_state_is_published_on_change_only(broker, observe, tmp_path) -> None:
    observer = observe(broker.port, TOPICS.state)
    telemetry, _ = make_telemetry(broker.url, tmp_path)
    try:
        idle = PublishState(State.IDLE, None, (), "in_service")
        for doors in ({"entry": "closed"}, {"entry": "closed"}, {"entry": "open"}, {"entry": "open"}):
            telemetry.publish_state(idle, doors)
        observer.wait_for(lambda o: len(o.messages) >= 2, what="two states")
        time.sleep(0.3)
        assert [m.json()["doors"]["entry"] for m in observer.messages] == ["closed", "open"]
    finally:
        telemetry.stop()
