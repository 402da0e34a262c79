"""What the dashboard assumes about the gates' MQTT interface, in one place (edge/telemetry/asyncapi.yaml).

    {prefix}/{site}/{gate}/availability  retained {"status": "online"|"offline", "bdseq": n}
    {prefix}/{site}/{gate}/state         retained {"state", "mode", "doors": {...}, "alarms": [...], "at"}
    {prefix}/{site}/{gate}/events        {"type": "transaction"|"alarm", "id", "seq", "at", <type>: {...}}
    {prefix}/{site}/{gate}/metrics       {"transactions": {outcome: count}, ...}
    {prefix}/{site}/{gate}/commands      signed command (Ed25519 over the canonical JSON of every other field)
    {prefix}/{site}/{gate}/responses     {"command_id", "action", "accepted", "reason", "at"}

Topic names and command signing are the gate's own (edge.telemetry.topics, edge.telemetry.commands), so
the control room and the gate can never disagree on them.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.telemetry.commands import canonical, load_private_key, sign_command
from edge.telemetry.topics import KINDS, check_level, parse_topic, site_filter

__all__ = ["KINDS", "canonical", "check_level", "decode", "load_private_key", "parse_topic", "sign", "site_filter"]

DEFAULT_PREFIX = "echannel/v1"
COMMAND_ACTIONS = ("out_of_service", "in_service", "emergency_open", "reset_alarm")
COMMAND_LIFETIME_S = 60.0


def topic(prefix: str, site: str, gate: str, kind: str) -> str:
    return f"{prefix.rstrip('/')}/{check_level(site, 'site')}/{check_level(gate, 'gate')}/{kind}"


def decode(payload: bytes) -> dict[str, Any] | None:
    """A payload as a JSON object, or None (a malformed message is skipped, never fatal)."""
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def sign(key: Ed25519PrivateKey, key_id: str, *, site: str, gate: str, action: str, now: float) -> dict[str, Any]:
    """The one place the dashboard signs a command."""
    if action not in COMMAND_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return sign_command(key, key_id, site=site, gate=gate, action=action, now=now, lifetime_s=COMMAND_LIFETIME_S)
