"""What the dashboard assumes about the gates' MQTT interface, in one place (edge/telemetry/asyncapi.yaml).

    {prefix}/{site}/{gate}/availability  retained {"status": "online"|"offline", "bdseq": n}
    {prefix}/{site}/{gate}/state         retained {"state", "mode", "doors": {...}, "alarms": [...], "at"}
    {prefix}/{site}/{gate}/events        {"type": "transaction"|"alarm", "id", "seq", "at", <type>: {...}}
    {prefix}/{site}/{gate}/metrics       {"transactions": {outcome: count}, ...}
    {prefix}/{site}/{gate}/commands      signed command (Ed25519 over the canonical JSON of every other field)
    {prefix}/{site}/{gate}/responses     {"command_id", "action", "accepted", "reason", "at"}

When the telemetry package (edge.telemetry.commands) is installed next to this one its signer is used, so
the control room and the gate can never disagree on the signed bytes; otherwise `_sign_locally` builds
exactly the same command (its test checks the format).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEFAULT_PREFIX = "echannel/v1"
KINDS = ("availability", "birth", "state", "events", "metrics", "commands", "responses")
COMMAND_ACTIONS = ("out_of_service", "in_service", "emergency_open", "reset_alarm")
COMMAND_LIFETIME_S = 60.0
_LEVEL = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_level(value: str, what: str) -> str:
    """A site or gate id is one plain topic level (no '/', '+', '#')."""
    if not _LEVEL.match(value):
        raise ValueError(f"{what} {value!r} must be 1-64 letters, digits, '-' or '_'")
    return value


def site_filter(prefix: str, site: str) -> str:
    return f"{prefix.rstrip('/')}/{check_level(site, 'site')}/#"


def parse_topic(prefix: str, topic: str) -> tuple[str, str, str] | None:
    """(site, gate, kind) of a gate topic, or None when it is not one of ours."""
    head = prefix.rstrip("/") + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if len(parts) != 3 or parts[2] not in KINDS:
        return None
    return parts[0], parts[1], parts[2]


def topic(prefix: str, site: str, gate: str, kind: str) -> str:
    return f"{prefix.rstrip('/')}/{check_level(site, 'site')}/{check_level(gate, 'gate')}/{kind}"


def decode(payload: bytes) -> dict[str, Any] | None:
    """A payload as a JSON object, or None (a malformed message is skipped, never fatal)."""
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def sign(key: Ed25519PrivateKey, key_id: str, *, site: str, gate: str, action: str, now: float) -> dict[str, Any]:
    """The one place the dashboard signs a command."""
    if action not in COMMAND_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    try:
        from edge.telemetry.commands import sign_command  # the gate's own definition, once merged
    except ImportError:
        sign_command = _sign_locally
    return sign_command(key, key_id, site=site, gate=gate, action=action, now=now, lifetime_s=COMMAND_LIFETIME_S)


def canonical(command: Mapping[str, Any]) -> bytes:
    unsigned = {k: v for k, v in command.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def _sign_locally(
    key: Ed25519PrivateKey, key_id: str, *, site: str, gate: str, action: str, now: float, lifetime_s: float
) -> dict[str, Any]:
    command: dict[str, Any] = {
        "v": 1,
        "id": uuid.uuid4().hex,
        "site": site,
        "gate": gate,
        "action": action,
        "args": {},
        "issued_at": now,
        "expires_at": now + lifetime_s,
        "key_id": key_id,
    }
    command["signature"] = base64.b64encode(key.sign(canonical(command))).decode()
    return command
