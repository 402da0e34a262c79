"""Events the gate core takes: from the devices, from the traveller's progress and from the control room.

Events are small immutable values. Adapters create them; the core never does I/O to learn anything.
Nothing personal travels in an event's compared or printed fields: the chip portrait rides along in
`DocumentAuthenticated.portrait`, hidden from repr and equality, so the daemon can hand it to the face
verifier; the core never reads it and it never reaches a record.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Door(enum.StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class DoorPosition(enum.StrEnum):
    CLOSED = "closed"
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    UNKNOWN = "unknown"


class Sensor(enum.StrEnum):
    """Who saw more than one person: the passage beams (tailgating) or the camera (a second face)."""

    BEAMS = "beams"
    CAMERA = "camera"


class CheckResult(enum.StrEnum):
    """BSI TR-03135 result of one document check."""

    SUCCESSFUL = "successful"
    FAILED = "failed"
    UNDETERMINED = "undetermined"
    NOT_SUPPORTED = "not_supported"
    ABORTED = "aborted"


@dataclass(frozen=True)
class Event:
    """Base of every event the core accepts."""


# --- document -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentPresented(Event):
    """A card or passport chip came into the reader's field."""


@dataclass(frozen=True)
class DocumentAuthenticated(Event):
    """The chip was read and every mandatory check passed.

    `checks` maps a check name (e.g. "passive_authentication") to its result; `protocol` is the access
    control actually used ("BAC", "PACE", "PACE->BAC"). `portrait` is opaque to the core.
    """

    protocol: str = ""
    document_type: str = ""  # "TD1" or "TD3": the kind, never the number
    checks: tuple[tuple[str, CheckResult], ...] = ()
    read_ms: float = 0.0
    apdu_count: int = 0
    portrait: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class DocumentRejected(Event):
    """The document could not be read, or a check failed. `reason` is a reason code, never personal data.

    `retryable` marks failures the traveller can fix (card pulled early, read error): the gate goes back
    to idle and asks again; anything else (forgery, revocation, expiry) refers the traveller to an officer.
    """

    reason: str
    retryable: bool = False
    protocol: str = ""
    checks: tuple[tuple[str, CheckResult], ...] = ()


# --- passage sensors and doors (door controller) ---------------------------------------------------------


@dataclass(frozen=True)
class EntryPassage(Event):
    """Someone crossed the entry beams into the compartment."""


@dataclass(frozen=True)
class CompartmentOccupied(Event):
    pass


@dataclass(frozen=True)
class CompartmentEmpty(Event):
    pass


@dataclass(frozen=True)
class MoreThanOnePerson(Event):
    sensor: Sensor = Sensor.BEAMS


@dataclass(frozen=True)
class ExitPassage(Event):
    """Someone crossed the exit beams out of the compartment."""


@dataclass(frozen=True)
class DoorStateChanged(Event):
    door: Door
    position: DoorPosition


@dataclass(frozen=True)
class DoorFault(Event):
    door: Door
    reason: str


@dataclass(frozen=True)
class LinkLost(Event):
    """The door controller stopped answering (its firmware has gone to its own safe state)."""


@dataclass(frozen=True)
class LinkRestored(Event):
    pass


# --- face verification ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaceOutcome(Event):
    """Common fields of every face decision: what the transaction record keeps of the comparison."""

    score: float | None = None
    threshold: float | None = None
    quality: float | None = None
    pad_score: float | None = None
    capture_ms: float = 0.0


@dataclass(frozen=True)
class FaceVerified(FaceOutcome):
    pass


@dataclass(frozen=True)
class FaceRejected(FaceOutcome):
    pass


@dataclass(frozen=True)
class PadAlarm(FaceOutcome):
    """Presentation attack suspected (printed photo, screen, mask)."""


@dataclass(frozen=True)
class CaptureTimeout(FaceOutcome):
    """No usable face within the capture time."""


# --- safety inputs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FireAlarmOn(Event):
    pass


@dataclass(frozen=True)
class FireAlarmOff(Event):
    pass


@dataclass(frozen=True)
class TamperAlarm(Event):
    """The gate's cabinet was opened."""


# --- commands (control room, or the service key / emergency button on the gate) -------------------------


@dataclass(frozen=True)
class Command(Event):
    """A command; `command_id` ties the result to the request, `origin` says who asked."""

    command_id: str = ""
    origin: str = "control_room"


@dataclass(frozen=True)
class OutOfService(Command):
    pass


@dataclass(frozen=True)
class InService(Command):
    pass


@dataclass(frozen=True)
class EmergencyOpen(Command):
    pass


@dataclass(frozen=True)
class Reset(Command):
    """An officer has dealt with the situation: clear the referral / alarm and return to service."""


ALL_EVENT_TYPES: tuple[type[Event], ...] = (
    DocumentPresented,
    DocumentAuthenticated,
    DocumentRejected,
    EntryPassage,
    CompartmentOccupied,
    CompartmentEmpty,
    MoreThanOnePerson,
    ExitPassage,
    DoorStateChanged,
    DoorFault,
    LinkLost,
    LinkRestored,
    FaceVerified,
    FaceRejected,
    PadAlarm,
    CaptureTimeout,
    FireAlarmOn,
    FireAlarmOff,
    TamperAlarm,
    OutOfService,
    InService,
    EmergencyOpen,
    Reset,
)
