"""The topic tree, the payload builders, their JSON Schemas, the AsyncAPI document and the privacy guard."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from edge.gate.actions import CommandResult, PublishState, State
from edge.gate.records import Alarm, AlarmKind, FaceComparison, Outcome, TransactionRecord
from edge.telemetry import payloads
from edge.telemetry.topics import GateTopics, parse_topic, site_filter

ASYNCAPI = Path(payloads.__file__).with_name("asyncapi.yaml")


def validate(message_type: str, payload: dict) -> None:
    jsonschema.Draft202012Validator(payloads.load_schema(message_type)).validate(payload)


def a_record() -> TransactionRecord:
    return TransactionRecord(
        "txn-1",
        100.0,
        112.5,
        Outcome.CLEARED,
        "ok",
        {"reading_document": 2100.0, "verifying_face": 1800.0},
        "TD3",
        "PACE",
        {"passive_authentication": "successful", "chip_authentication": "successful"},
        FaceComparison(0.62, 0.363, "match", 0.8, 0.1),
        2100.0,
        42,
    )


def test_topics_live_under_prefix_site_and_gate() -> None:
    topics = GateTopics("echannel/v1", "HKG-T1", "gate-07")
    assert topics.availability == "echannel/v1/HKG-T1/gate-07/availability"
    assert topics.events == "echannel/v1/HKG-T1/gate-07/events"
    assert site_filter("echannel/v1", "HKG-T1") == "echannel/v1/HKG-T1/#"
    assert parse_topic("echannel/v1", topics.state) == ("HKG-T1", "gate-07", "state")
    assert parse_topic("echannel/v1", "echannel/v1/HKG-T1/gate-07/other") is None
    assert parse_topic("echannel/v1", "elsewhere/HKG-T1/gate-07/state") is None


@pytest.mark.parametrize("bad", ["a/b", "+", "#", "", "with space"])
def test_a_site_or_gate_id_must_be_one_topic_level(bad: str) -> None:
    with pytest.raises(ValueError):
        GateTopics("echannel/v1", bad, "g1")


def test_every_payload_builder_matches_its_schema() -> None:
    meta = payloads.GateMetadata("0.3.0", "fw-1.2", {"sface": "sha256:ab12"}, "cfg:77aa")
    validate("availability", payloads.availability("offline", 3))
    validate("availability", payloads.availability("online", 3, 10.0))
    validate("birth", payloads.birth(meta, "s1", "g1", 3, 10.0))
    state = PublishState(State.VERIFYING_FACE, "txn-1", ("tailgating",), "in_service")
    validate("state", payloads.state(state, {"entry": "closed", "exit": "closed"}, 10.0))
    record = payloads.record_body(a_record())
    validate("event", payloads.event("transaction", "0123456789abcdef", 1, "s1", "g1", 112.5, record))
    for kind in AlarmKind:
        alarm = payloads.alarm_body(Alarm(kind, 5.0, "x", None))
        validate("event", payloads.event("alarm", "0123456789abcdef", 2, "s1", "g1", 5.0, alarm))
    result = CommandResult("c" * 16, "OutOfService", False, "busy")
    validate("response", payloads.response_for(result, "out_of_service", "s1", "g1", 10.0))


def test_a_signed_command_matches_the_command_schema() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from edge.telemetry.commands import sign_command

    key = Ed25519PrivateKey.generate()
    for args in ({}, {"threshold": 0.5}):
        command = sign_command(
            key,
            "hq",
            site="s1",
            gate="g1",
            action="set_face_threshold",
            args=args,
            now=1e9,
            response_topic="echannel/v1/s1/g1/responses/x",
        )
        validate("command", command)


def test_a_record_with_an_unknown_field_fails_its_schema() -> None:
    record = payloads.record_body(a_record()) | {"surname": "X"}
    with pytest.raises(jsonschema.ValidationError):
        validate("event", payloads.event("transaction", "0123456789abcdef", 1, "s1", "g1", 1.0, record))


def test_asyncapi_document_describes_every_channel_and_schema() -> None:
    doc = yaml.safe_load(ASYNCAPI.read_text())
    assert doc["asyncapi"].startswith("3.")
    addresses = {channel["address"].rsplit("/", 1)[-1] for channel in doc["channels"].values()}
    assert addresses == {"availability", "birth", "state", "events", "metrics", "commands", "responses"}
    text = ASYNCAPI.read_text()
    for message_type in payloads.MESSAGE_TYPES:
        assert f"schemas/{message_type}.json" in text
        assert (payloads.SCHEMA_DIR / f"{message_type}.json").exists()
    for schema in payloads.SCHEMA_DIR.glob("*.json"):
        jsonschema.Draft202012Validator.check_schema(payloads.load_schema(schema.stem))


@pytest.mark.parametrize(
    "payload",
    [
        {"record": {"name": "ERIKA"}},
        {"x": [{"document_number": "C01X00T47"}]},
        {"MRZ": "..."},
        {"portrait": None},
        {"reason": "P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<<<"},
        {"blob": "A" * 2000},
        {"vector": [0.1] * 128},
        {"raw": b"\xff\xd8\xff"},
    ],
)
def test_privacy_guard_finds_personal_data(payload: dict) -> None:
    problems = payloads.privacy_problems(payload)
    assert problems
    assert "ERIKA" not in " ".join(problems) and "C01X00T47" not in " ".join(problems)  # paths, never values


def test_privacy_guard_passes_records_and_alarms() -> None:
    assert payloads.privacy_problems(payloads.record_body(a_record())) == []
    assert payloads.privacy_problems(payloads.alarm_body(Alarm(AlarmKind.TAILGATING, 1.0, "beams", "t"))) == []


def test_config_hash_changes_with_the_file(tmp_path: Path) -> None:
    config = tmp_path / "gate.toml"
    config.write_text('[gate]\nsite = "s1"\n')
    first = payloads.config_hash(config)
    config.write_text('[gate]\nsite = "s2"\n')
    assert first.startswith("sha256:") and payloads.config_hash(config) != first
