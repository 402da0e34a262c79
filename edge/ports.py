"""The seams between the daemon and its devices. Real adapters and simulators implement the same ones.

Every device runs as an asyncio task (`run`) that reports what it sees by calling `emit(event)` with an
event from edge.gate.events, and is told what to do through plain method calls. `emit` is thread-safe, so
an adapter may call it from its own worker thread (pyscard's monitor, the camera thread, paho's loop).
`health()` says whether the device is working, for the watchdog, metrics and `echannel doctor`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from edge.gate.actions import BuzzerPattern, CommandResult, DoorOp, Light, Message, PublishState
from edge.gate.events import Door, Event
from edge.gate.records import Alarm, TransactionRecord

EventSink = Callable[[Event], None]


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""
    figures: dict[str, float] = field(default_factory=dict)


class DocumentReader(Protocol):
    """Waits for a document, reads and authenticates it; emits DocumentPresented, then
    DocumentAuthenticated (with the portrait) or DocumentRejected."""

    async def run(self, emit: EventSink) -> None: ...
    def accept_documents(self, accept: bool) -> None: ...
    def health(self) -> Health: ...


class FaceVerifier(Protocol):
    """Compares the live face with the chip portrait; emits MoreThanOnePerson(CAMERA) while capturing and
    exactly one of FaceVerified / FaceRejected / PadAlarm / CaptureTimeout per started capture."""

    async def run(self, emit: EventSink) -> None: ...
    def start(self, transaction_id: str, portrait: Any) -> None: ...
    def stop(self) -> None: ...
    def set_threshold(self, threshold: float) -> None: ...
    def health(self) -> Health: ...


class DoorController(Protocol):
    """The door-controller MCU: emits DoorStateChanged, passage/occupancy events, DoorFault, LinkLost,
    LinkRestored (and FireAlarmOn/Off when the fire input is wired to the MCU)."""

    async def run(self, emit: EventSink) -> None: ...
    def command(self, door: Door, op: DoorOp) -> None: ...
    def health(self) -> Health: ...


class Panel(Protocol):
    """Lights, buzzer and the gate's own inputs (fire alarm, emergency button, tamper, service key):
    emits FireAlarmOn/Off, EmergencyOpen, TamperAlarm, OutOfService/InService."""

    async def run(self, emit: EventSink) -> None: ...
    def set_lights(self, entry: Light, exit: Light) -> None: ...
    def sound(self, pattern: BuzzerPattern) -> None: ...
    def health(self) -> Health: ...


class TravellerDisplay(Protocol):
    """The traveller's screen: only ever given a Message and a progress figure, never personal data."""

    async def run(self, emit: EventSink) -> None: ...
    def show(self, message: Message, progress: float | None = None) -> None: ...
    def health(self) -> Health: ...


class Telemetry(Protocol):
    """Reports to the control room and turns its commands into events (edge.gate.events.Command)."""

    async def run(self, emit: EventSink) -> None: ...
    def publish_state(self, state: PublishState, doors: dict[str, str]) -> None: ...
    def publish_record(self, record: TransactionRecord) -> None: ...
    def publish_alarm(self, alarm: Alarm) -> None: ...
    def command_result(self, result: CommandResult) -> None: ...
    def health(self) -> Health: ...
