"""Transaction records and alarms: what the control room learns. No personal data by construction:
every field is a code, a number, a timestamp or a check result."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    CLEARED = "cleared"  # traveller verified and passed the exit
    REFERRED = "referred"  # sent to an officer (document, face, PAD, tailgating, ...)
    ABANDONED = "abandoned"  # traveller gave up / card pulled / never entered
    ABORTED = "aborted"  # ended by emergency, fault or the control room


@dataclass(frozen=True)
class FaceComparison:
    score: float | None
    threshold: float | None
    decision: str  # "match", "no_match", "pad_alarm", "capture_timeout"
    quality: float | None = None
    pad_score: float | None = None


@dataclass(frozen=True)
class TransactionRecord:
    transaction_id: str
    started_at: float  # unix seconds
    ended_at: float
    outcome: Outcome
    reason: str  # reason code: "ok", "face_mismatch", "document_forged", ...
    steps_ms: dict[str, float] = field(default_factory=dict)  # duration of each state the transaction visited
    document_type: str = ""
    protocol: str = ""
    checks: dict[str, str] = field(default_factory=dict)
    face: FaceComparison | None = None
    read_ms: float | None = None
    apdu_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class AlarmKind(enum.StrEnum):
    REFERRAL = "referral"
    TAILGATING = "tailgating"
    PAD = "pad_alarm"
    DOOR_FAULT = "door_fault"
    FIRE = "fire"
    TAMPER = "tamper"
    LINK_LOST = "door_link_lost"
    EMERGENCY_OPEN = "emergency_open"


@dataclass(frozen=True)
class Alarm:
    kind: AlarmKind
    at: float
    reason: str = ""
    transaction_id: str | None = None
    active: bool = True  # False when the condition clears

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
