"""Command authorisation (pure): signed, addressed, unexpired, unseen, known, with valid arguments."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.gate import events as ev
from edge.telemetry.commands import MAX_COMMAND_BYTES, Accepted, CommandGuard, Rejected, sign_command

NOW = 1_800_000_000.0
KEY = Ed25519PrivateKey.generate()


def guard() -> CommandGuard:
    return CommandGuard("s1", "g1", {"cr": KEY.public_key()}, max_lifetime_s=300, threshold_range=(0.2, 0.8))


def signed(action: str = "out_of_service", **overrides) -> dict:
    fields = {"site": "s1", "gate": "g1", "action": action, "now": NOW, "lifetime_s": 60.0} | overrides
    return sign_command(overrides.pop("key", KEY), "cr", **{k: v for k, v in fields.items() if k != "key"})


def check(command: dict | bytes, seen=frozenset()) -> Accepted | Rejected:
    raw = command if isinstance(command, bytes) else json.dumps(command).encode()
    return guard().check(raw, NOW, seen.__contains__)


@pytest.mark.parametrize(
    ("action", "event_type"),
    [
        ("out_of_service", ev.OutOfService),
        ("in_service", ev.InService),
        ("emergency_open", ev.EmergencyOpen),
        ("reset_alarm", ev.Reset),
    ],
)
def test_a_signed_gate_command_becomes_its_gate_event(action: str, event_type: type) -> None:
    command = signed(action)
    verdict = check(command)
    assert isinstance(verdict, Accepted)
    assert verdict.to_event() == event_type(command_id=command["id"], origin="control_room")


def test_adapter_commands_carry_no_gate_event() -> None:
    verdict = check(signed("set_face_threshold", args={"threshold": 0.45}))
    assert isinstance(verdict, Accepted) and verdict.args == {"threshold": 0.45} and verdict.to_event() is None
    assert isinstance(check(signed("rebirth")), Accepted)


def tampered() -> dict:
    command = signed("in_service")
    command["action"] = "emergency_open"
    return command


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (b"{not json", "malformed"),
        (b"[1, 2]", "malformed"),
        (b"\xff\xfe", "malformed"),
        ({"v": 1, "id": "0123456789"}, "malformed"),
        (b"{" + b" " * MAX_COMMAND_BYTES + b"}", "oversized"),
        (signed(key=Ed25519PrivateKey.generate()), "unauthorised"),
        (tampered(), "unauthorised"),
        (signed(gate="g2"), "unauthorised"),
        (signed(now=NOW - 120), "expired"),
        (signed(now=NOW + 600), "expired"),
        (signed(lifetime_s=3600), "expired"),
        (signed("self_destruct"), "unknown_action"),
        (signed("set_face_threshold", args={"threshold": 0.05}), "invalid_argument"),
        (signed("set_face_threshold", args={"threshold": "high"}), "invalid_argument"),
        (signed("out_of_service", args={"now": True}), "invalid_argument"),
    ],
)
def test_bad_commands_are_rejected_with_a_reason(command: dict | bytes, reason: str) -> None:
    verdict = check(command)
    assert isinstance(verdict, Rejected), verdict
    assert verdict.reason == reason


def test_a_replayed_command_is_rejected() -> None:
    command = signed("emergency_open")
    verdict = check(command, seen=frozenset({command["id"]}))
    assert isinstance(verdict, Rejected) and verdict.reason == "replayed" and verdict.command_id == command["id"]


def test_an_unknown_key_id_is_unauthorised() -> None:
    command = signed()
    command["key_id"] = "someone"
    assert check(command).reason == "unauthorised"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_are_rejected_never_raise(raw: bytes) -> None:
    assert isinstance(guard().check(raw, NOW, lambda _: False), Rejected)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "v",
                "id",
                "site",
                "gate",
                "action",
                "args",
                "issued_at",
                "expires_at",
                "key_id",
                "signature",
                "response_topic",
            ]
        ),
        json_values,
    )
)
def test_arbitrary_unsigned_objects_are_rejected_never_raise(command: dict) -> None:
    raw = json.dumps(command).encode()
    assert isinstance(guard().check(raw, NOW, lambda _: False), Rejected)


finite_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=9),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=9), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["out_of_service", "rebirth", "set_face_threshold"]),
    st.dictionaries(st.sampled_from(["threshold", "now", "x"]), finite_values, max_size=2),
)
def test_signed_commands_with_arbitrary_arguments_are_accepted_only_when_valid(action: str, args: dict) -> None:
    verdict = check(sign_command(KEY, "cr", site="s1", gate="g1", action=action, args=args, now=NOW))
    threshold = args.get("threshold")
    valid = (
        args == {}
        if action != "set_face_threshold"
        else set(args) == {"threshold"} and type(threshold) in (int, float) and 0.2 <= threshold <= 0.8
    )
    assert isinstance(verdict, Accepted) == valid, verdict
