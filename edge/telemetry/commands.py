"""Control-room commands: signed, addressed, short-lived and used once. Authorisation beyond the broker ACL.

A command is a JSON object (schemas/command.json) signed with Ed25519 by a control-room key the gate
trusts (one PEM public key per file in TelemetrySettings.command_keys; the file stem is the key id). The
signature covers the canonical JSON of every field but "signature": sorted keys, no whitespace, non-ASCII
escaped (Python's json.dumps(sort_keys=True, separators=(",", ":"))); times are whole seconds so that any
language produces the same bytes.

`CommandGuard.check` is pure (time passed in, replay memory passed in): it returns an `Accepted` command
or a `Rejected` with a reason code. The checks, in order, each with its reason:
    oversized        more than MAX_COMMAND_BYTES
    malformed        not a JSON object with the required fields of the right types
    unauthorised     unknown key id, bad signature, or addressed to another site or gate
    expired          past expires_at, issued in the future, or valid for longer than max_lifetime_s
    replayed         its id was accepted before
    unknown_action   not one of ACTIONS
    invalid_argument arguments missing or out of range
A rejected command changes nothing (not even the replay memory).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.gate import events as ev

MAX_COMMAND_BYTES = 4096
CLOCK_SKEW_S = 30.0  # a command may claim to be issued this far in the future (unsynchronised clocks)
GATE_ACTIONS: dict[str, type[ev.Command]] = {
    "out_of_service": ev.OutOfService,
    "in_service": ev.InService,
    "emergency_open": ev.EmergencyOpen,
    "reset_alarm": ev.Reset,
}
ADAPTER_ACTIONS = ("rebirth", "set_face_threshold")  # handled by the telemetry adapter / daemon
ACTIONS = (*GATE_ACTIONS, *ADAPTER_ACTIONS)
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "v": int,
    "id": str,
    "site": str,
    "gate": str,
    "action": str,
    "args": dict,
    "issued_at": (int, float),
    "expires_at": (int, float),
    "key_id": str,
    "signature": str,
}


@dataclass(frozen=True)
class Accepted:
    command_id: str
    action: str
    args: dict[str, Any]
    expires_at: float
    response_topic: str | None = None

    def to_event(self) -> ev.Command | None:
        """The gate event this command becomes, or None for actions the adapter handles itself."""
        cls = GATE_ACTIONS.get(self.action)
        return cls(command_id=self.command_id, origin="control_room") if cls else None


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str = ""
    command_id: str = ""  # when the command was readable enough to have one
    action: str = ""


@dataclass
class CommandGuard:
    site: str
    gate: str
    trusted_keys: Mapping[str, Ed25519PublicKey]
    max_lifetime_s: float = 300.0
    threshold_range: tuple[float, float] = (0.2, 0.8)

    def check(self, raw: bytes, now: float, seen: Callable[[str], bool]) -> Accepted | Rejected:
        if len(raw) > MAX_COMMAND_BYTES:
            return Rejected("oversized", f"{len(raw)} bytes > {MAX_COMMAND_BYTES}")
        try:
            command = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return Rejected("malformed", "not UTF-8 JSON")
        if not isinstance(command, dict):
            return Rejected("malformed", "not a JSON object")
        for key, kind in _REQUIRED.items():
            if not isinstance(command.get(key), kind) or isinstance(command.get(key), bool):
                return Rejected(
                    "malformed",
                    f"field {key!r} missing or of the wrong type",
                    _text(command.get("id")),
                    _text(command.get("action")),
                )
        command_id, action = command["id"], command["action"]
        if command["v"] != 1 or not 8 <= len(command_id) <= 64:
            return Rejected("malformed", "unsupported version or bad id", command_id[:64], action[:32])
        response_topic = command.get("response_topic")
        if response_topic is not None and not isinstance(response_topic, str):
            return Rejected("malformed", "response_topic is not a string", command_id, action)

        key = self.trusted_keys.get(command["key_id"])
        if key is None:
            return Rejected("unauthorised", "unknown key id", command_id, action)
        try:
            signature = base64.b64decode(command["signature"], validate=True)
            key.verify(signature, canonical(command))
        except (binascii.Error, ValueError, InvalidSignature):
            return Rejected("unauthorised", "bad signature", command_id, action)
        if command["site"] != self.site or command["gate"] != self.gate:
            return Rejected("unauthorised", "addressed to another gate", command_id, action)

        issued, expires = float(command["issued_at"]), float(command["expires_at"])
        if not (math.isfinite(issued) and math.isfinite(expires)):
            return Rejected("malformed", "times must be finite", command_id, action)
        if now >= expires:
            return Rejected("expired", "past its expiry", command_id, action)
        if issued > now + CLOCK_SKEW_S:
            return Rejected("expired", "issued in the future", command_id, action)
        if expires - issued > self.max_lifetime_s:
            return Rejected("expired", f"valid for longer than {self.max_lifetime_s:g} s", command_id, action)
        if seen(command_id):
            return Rejected("replayed", "command id already used", command_id, action)

        if action not in ACTIONS:
            return Rejected("unknown_action", f"unknown action {action[:32]!r}", command_id, action[:32])
        problem = self._check_args(action, command["args"])
        if problem:
            return Rejected("invalid_argument", problem, command_id, action)
        return Accepted(command_id, action, dict(command["args"]), expires, response_topic)

    def _check_args(self, action: str, args: dict[str, Any]) -> str:
        if action != "set_face_threshold":
            return "" if not args else f"{action} takes no arguments"
        value = args.get("threshold")
        if set(args) != {"threshold"} or not isinstance(value, int | float) or isinstance(value, bool):
            return "set_face_threshold needs exactly one number: threshold"
        low, high = self.threshold_range
        if not (math.isfinite(value) and low <= value <= high):
            return f"threshold must be between {low:g} and {high:g}"
        return ""


def canonical(command: Mapping[str, Any]) -> bytes:
    """The signed bytes: every field except the signature, sorted keys, no whitespace."""
    unsigned = {k: v for k, v in command.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def sign_command(
    private_key: Ed25519PrivateKey,
    key_id: str,
    *,
    site: str,
    gate: str,
    action: str,
    args: Mapping[str, Any] | None = None,
    now: float,
    lifetime_s: float = 60.0,
    command_id: str | None = None,
    response_topic: str | None = None,
) -> dict[str, Any]:
    """Build and sign a command (the control room's side)."""
    command: dict[str, Any] = {
        "v": 1,
        "id": command_id or uuid.uuid4().hex,
        "site": site,
        "gate": gate,
        "action": action,
        "args": dict(args or {}),
        "issued_at": int(now),  # whole seconds: the canonical form is then the same in any language
        "expires_at": int(now + lifetime_s),
        "key_id": key_id,
    }
    if response_topic is not None:
        command["response_topic"] = response_topic
    command["signature"] = base64.b64encode(private_key.sign(canonical(command))).decode()
    return command


def load_trusted_keys(directory: str | Path) -> dict[str, Ed25519PublicKey]:
    """Every `*.pub` PEM Ed25519 public key in `directory`, by file stem. Other key types are skipped."""
    keys: dict[str, Ed25519PublicKey] = {}
    if not directory:
        return keys
    for path in sorted(Path(directory).glob("*.pub")):
        key = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(key, Ed25519PublicKey):
            keys[path.stem] = key
    return keys


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def generate_key_pair(directory: str | Path, key_id: str) -> tuple[Path, Path]:
    """Write KEY_ID.key (private, mode 0600) and KEY_ID.pub (copy it into each gate's command_keys)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    private_path, public_path = directory / f"{key_id}.key", directory / f"{key_id}.pub"
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private_path.touch(mode=0o600, exist_ok=False)
    private_path.write_bytes(pem)
    public_path.write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private_path, public_path


def _text(value: Any) -> str:
    return value[:64] if isinstance(value, str) else ""
