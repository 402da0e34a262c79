"""JSON payloads of every message type, built from the gate's records and actions (pure: time is passed in).

Each type has a JSON Schema in schemas/<type>.json (referenced by asyncapi.yaml); `SCHEMA_VERSION` is the
payload's "v" field and changes only with an incompatible payload change. `privacy_problems` is the guard
the adapter runs on every payload before it leaves the gate: records carry no personal data by
construction, the guard is belt and braces against a future field that would.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.gate.actions import CommandResult, PublishState
from edge.gate.records import Alarm, TransactionRecord

SCHEMA_VERSION = 1
SCHEMA_DIR = Path(__file__).with_name("schemas")
MESSAGE_TYPES = ("availability", "birth", "state", "event", "metrics", "command", "response")

# Keys that name personal data; none may appear anywhere in a payload (compared case-insensitively).
FORBIDDEN_KEYS = frozenset(
    {
        "name",
        "names",
        "surname",
        "given_names",
        "document_number",
        "mrz",
        "image",
        "portrait",
        "photo",
        "face_image",
        "embedding",
        "template",
        "date_of_birth",
        "personal_number",
    }
)
_MRZ_LIKE = re.compile(r"[A-Z0-9<]{2,}<<[A-Z0-9<]{2,}")  # two MRZ fillers in a row
_MAX_STRING = 512  # images and embeddings (base64) are longer than any code, id or reason
_MAX_NUMBER_LIST = 32  # an embedding is 128-512 numbers; no metric list is this long


def dumps(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


@dataclass(frozen=True)
class GateMetadata:
    """What the birth message tells the control room about the gate's software and configuration."""

    software: str
    firmware: str = "unknown"
    models: dict[str, str] = field(default_factory=dict)  # model name -> version or sha256 prefix
    config_hash: str = ""


def config_hash(path: str | Path) -> str:
    """The birth's configuration hash: sha256 of the configuration file as deployed (its bytes)."""
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def availability(status: str, bdseq: int, at: float | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"v": SCHEMA_VERSION, "type": "availability", "status": status, "bdseq": bdseq}
    if at is not None:
        payload["at"] = at
    return payload


def birth(meta: GateMetadata, site: str, gate: str, bdseq: int, at: float) -> dict[str, Any]:
    return {
        "v": SCHEMA_VERSION,
        "type": "birth",
        "site": site,
        "gate": gate,
        "bdseq": bdseq,
        "at": at,
        "software": meta.software,
        "firmware": meta.firmware,
        "models": dict(meta.models),
        "config_hash": meta.config_hash,
    }


def state(action: PublishState, doors: Mapping[str, str], at: float) -> dict[str, Any]:
    return {
        "v": SCHEMA_VERSION,
        "type": "state",
        "at": at,
        "state": str(action.state),
        "mode": action.mode,
        "transaction_id": action.transaction_id,
        "doors": {str(k): str(v) for k, v in doors.items()},
        "alarms": [str(a) for a in action.alarms],
    }


def record_body(record: TransactionRecord) -> dict[str, Any]:
    return _plain(record.to_dict())


def alarm_body(alarm: Alarm) -> dict[str, Any]:
    return _plain(alarm.to_dict())


def event(kind: str, event_id: str, seq: int, site: str, gate: str, at: float, body: Any) -> dict[str, Any]:
    """An outbox event: `kind` is "transaction" or "alarm"; `seq` counts per gate, `id` de-duplicates."""
    return {
        "v": SCHEMA_VERSION,
        "type": kind,
        "id": event_id,
        "seq": seq,
        "site": site,
        "gate": gate,
        "at": at,
        kind: body,
    }


def metrics(at: float, interval_s: float, figures: Mapping[str, Any]) -> dict[str, Any]:
    return {"v": SCHEMA_VERSION, "type": "metrics", "at": at, "interval_s": interval_s, **figures}


def response(
    command_id: str, action: str, accepted: bool, reason: str, site: str, gate: str, at: float
) -> dict[str, Any]:
    return {
        "v": SCHEMA_VERSION,
        "type": "response",
        "command_id": command_id,
        "action": action,
        "accepted": accepted,
        "reason": reason,
        "site": site,
        "gate": gate,
        "at": at,
    }


def response_for(result: CommandResult, action: str, site: str, gate: str, at: float) -> dict[str, Any]:
    return response(result.command_id, action, result.accepted, result.reason or "ok", site, gate, at)


def privacy_problems(payload: Any) -> list[str]:
    """Why `payload` may not leave the gate (forbidden keys, MRZ-like text, image- or embedding-like
    values); empty when it may. Paths are given, values never (they would leak what we refuse)."""
    problems: list[str] = []
    _scan(payload, "$", problems)
    return problems


def _scan(value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if str(key).lower() in FORBIDDEN_KEYS:
                problems.append(f"{path}.{key}: forbidden key")
            _scan(item, f"{path}.{key}", problems)
    elif isinstance(value, list | tuple):
        if len(value) > _MAX_NUMBER_LIST and all(isinstance(v, int | float) for v in value):
            problems.append(f"{path}: long list of numbers (embedding-like)")
        for index, item in enumerate(value):
            _scan(item, f"{path}[{index}]", problems)
    elif isinstance(value, bytes | bytearray):
        problems.append(f"{path}: binary value")
    elif isinstance(value, str):
        if len(value) > _MAX_STRING:
            problems.append(f"{path}: string longer than {_MAX_STRING} characters (image-like)")
        elif _MRZ_LIKE.search(value):
            problems.append(f"{path}: MRZ-like text")


def _plain(value: Any) -> Any:
    """Enums to their values, tuples to lists: what json.dumps writes, so schemas see the wire form."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def load_schema(message_type: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{message_type}.json").read_text(encoding="utf-8"))


def schema_for_topic_kind(kind: str) -> str:
    """Topic kind (edge.telemetry.topics.KINDS) -> message type (schema name)."""
    return {"events": "event", "commands": "command", "responses": "response"}.get(kind, kind)
