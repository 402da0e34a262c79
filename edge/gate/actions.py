"""Actions the gate core asks the shells to carry out. The core returns them; it never performs them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from edge.gate.events import Door
from edge.gate.records import Alarm, TransactionRecord


class State(enum.StrEnum):
    OUT_OF_SERVICE = "out_of_service"
    IDLE = "idle"
    READING_DOCUMENT = "reading_document"
    ENTRY_OPEN = "entry_open"
    IN_COMPARTMENT = "in_compartment"
    VERIFYING_FACE = "verifying_face"
    EXIT_OPEN = "exit_open"
    REFERRED = "referred"
    EMERGENCY = "emergency"
    FAULT = "fault"


class DoorOp(enum.StrEnum):
    OPEN = "open"
    CLOSE = "close"
    LOCK = "lock"  # close and engage the lock


class Light(enum.StrEnum):
    GREEN_ARROW = "green_arrow"
    RED_CROSS = "red_cross"
    OFF = "off"


class BuzzerPattern(enum.StrEnum):
    SILENT = "silent"
    CHIME = "chime"  # short confirmation
    WARNING = "warning"  # repeated short beeps: attention
    ALARM = "alarm"  # continuous: officer needed / emergency


class Message(enum.StrEnum):
    """What the traveller's display shows; the texts live in the display's message catalogues."""

    PLACE_DOCUMENT = "place_document"
    READING = "reading"
    REMOVE_DOCUMENT_TRY_AGAIN = "try_again"
    STEP_IN = "step_in"
    WAIT = "wait"
    LOOK_AT_CAMERA = "look_at_camera"
    APPEAR_ALONE = "appear_alone"
    PROCEED = "proceed"
    SEE_OFFICER = "see_officer"
    EMERGENCY = "emergency"
    GATE_CLOSED = "gate_closed"
    OUT_OF_ORDER = "out_of_order"


@dataclass(frozen=True)
class Action:
    """Base of every action."""


@dataclass(frozen=True)
class DoorCommand(Action):
    door: Door
    op: DoorOp


@dataclass(frozen=True)
class SetLights(Action):
    entry: Light
    exit: Light


@dataclass(frozen=True)
class SoundBuzzer(Action):
    pattern: BuzzerPattern


@dataclass(frozen=True)
class ShowMessage(Action):
    message: Message
    progress: float | None = None  # 0..1 for the face-capture cue


@dataclass(frozen=True)
class AcceptDocuments(Action):
    """Tell the document reader whether a presented card should be read now."""

    accept: bool


@dataclass(frozen=True)
class StartFaceCapture(Action):
    transaction_id: str


@dataclass(frozen=True)
class StopFaceCapture(Action):
    pass


@dataclass(frozen=True)
class PublishState(Action):
    state: State
    transaction_id: str | None
    alarms: tuple[str, ...]
    mode: str  # "in_service", "out_of_service", "emergency", "fault"


@dataclass(frozen=True)
class PublishRecord(Action):
    record: TransactionRecord


@dataclass(frozen=True)
class RaiseAlarm(Action):
    alarm: Alarm


@dataclass(frozen=True)
class CommandResult(Action):
    command_id: str
    command: str
    accepted: bool
    reason: str = ""


@dataclass(frozen=True)
class Ignored(Action):
    """The event called for no action in this state (it may still have been noted, e.g. a door position or
    occupancy); returned so the shell can log it at debug level and every event visibly gets an answer."""

    event: str
    state: State
