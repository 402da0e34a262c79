"""In-process simulated devices: each implements its port in edge/ports.py with timings of the real thing.

They are the stand-ins the foundation runs with; the hardware simulators (card emulator behind pcscd, the
door-controller rig behind a pty, the camera stream, MockFactory GPIO, a real broker) replace them one by
one without the daemon noticing. A `Stage` holds the traveller currently at the gate; the devices read
its scenario to decide what they report.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from edge.gate import events as ev
from edge.gate.actions import BuzzerPattern, CommandResult, DoorOp, Light, Message, PublishState
from edge.gate.events import CheckResult, Door, DoorPosition
from edge.gate.records import Alarm, TransactionRecord
from edge.ports import EventSink, Health
from simulators.scenarios import Scenario


@dataclass(frozen=True)
class Timings:
    """Seconds the simulated devices take (close to the measured real ones, scaled down a little)."""

    chip_read_s: float = 0.08
    door_motion_s: float = 0.05
    face_decision_s: float = 0.15


@dataclass
class Stage:
    """What is in front of / inside the gate right now."""

    traveller: Scenario | None = None
    timings: Timings = field(default_factory=Timings)


class _Device:
    def __init__(self) -> None:
        self._emit: EventSink | None = None
        self._tasks: set[asyncio.Task] = set()

    async def run(self, emit: EventSink) -> None:
        self._emit = emit
        self.started()
        await asyncio.Event().wait()  # until cancelled

    def started(self) -> None:
        pass

    def emit(self, *events: ev.Event) -> None:
        if self._emit is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        for event in events:
            self._emit(event)

    def later(self, delay: float, *events: ev.Event) -> asyncio.Task:
        async def fire() -> None:
            await asyncio.sleep(delay)
            self.emit(*events)

        task = asyncio.get_running_loop().create_task(fire())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def health(self) -> Health:
        return Health(ok=self._emit is not None, detail="" if self._emit else "not started")


# Which check each factory defect makes fail (the reason code is the scenario's expected reason).
_FAILED_CHECK = {
    "tampered_dg1": "data_group_hashes",
    "revoked_signer": "signer_revocation",
    "expired_document": "document_expiry",
    "cloned_chip": "active_authentication",
}
_CHECKS = (
    "mrz_check_digits",
    "dg1_matches_mrz",
    "sod_signature",
    "signer_chain",
    "signer_revocation",
    "data_group_hashes",
    "active_authentication",
    "document_expiry",
)


class SimDocumentReader(_Device):
    def __init__(self, stage: Stage) -> None:
        super().__init__()
        self.stage = stage
        self._accepting = False
        self._waiting = False  # a card lies on the reader, waiting for the gate to accept it

    def accept_documents(self, accept: bool) -> None:
        self._accepting = accept
        if accept and self._waiting:
            self._waiting = False
            self._read()

    def present(self) -> None:
        """The traveller at the stage puts their document on the reader."""
        if self._accepting:
            self._read()
        else:
            self._waiting = True

    def _read(self) -> None:
        scenario = self.stage.traveller
        assert scenario is not None
        self.emit(ev.DocumentPresented())
        delay = self.stage.timings.chip_read_s
        if scenario.document == "pulled":
            aborted = tuple((name, CheckResult.ABORTED) for name in _CHECKS)
            self.later(delay / 2, ev.DocumentRejected("card_removed", retryable=True, protocol="PACE", checks=aborted))
            return
        if scenario.document == "genuine":
            checks = tuple((name, CheckResult.SUCCESSFUL) for name in _CHECKS)
            portrait = f"portrait-of-{scenario.name}"  # stands for the decoded DG2 image
            self.later(
                delay,
                ev.DocumentAuthenticated(
                    "PACE", scenario.document_type, checks, delay * 1000, 42, portrait=portrait
                ),
            )
            return
        failed = _FAILED_CHECK[scenario.document]
        checks = tuple((n, CheckResult.FAILED if n == failed else CheckResult.SUCCESSFUL) for n in _CHECKS)
        rejected = ev.DocumentRejected(scenario.expected_reason, retryable=False, protocol="PACE", checks=checks)
        self.later(delay, rejected)


class SimFaceVerifier(_Device):
    def __init__(self, stage: Stage, threshold: float = 0.363) -> None:
        super().__init__()
        self.stage = stage
        self.threshold = threshold
        self._pending: asyncio.Task | None = None
        self.portraits_seen: list[Any] = []

    def start(self, transaction_id: str, portrait: Any) -> None:
        scenario = self.stage.traveller
        assert scenario is not None
        self.portraits_seen.append(portrait)
        delay = self.stage.timings.face_decision_s
        common = {"threshold": self.threshold, "quality": 0.8, "capture_ms": delay * 1000}
        outcome: ev.Event = {
            "match": ev.FaceVerified(score=0.74, pad_score=0.1, **common),
            "two_faces": ev.FaceVerified(score=0.71, pad_score=0.1, **common),
            "mismatch": ev.FaceRejected(score=0.12, pad_score=0.1, **common),
            "pad": ev.PadAlarm(score=0.70, pad_score=0.9, **common),
            "no_face": ev.CaptureTimeout(**{**common, "quality": None}),
        }[scenario.face]
        if scenario.face == "two_faces":
            self.later(delay / 3, ev.MoreThanOnePerson(ev.Sensor.CAMERA))
        self._pending = self.later(delay, outcome)

    def stop(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold


class SimDoorController(_Device):
    """Doors that take `door_motion_s` to move, and the passage sensors the traveller walks through."""

    def __init__(self, stage: Stage) -> None:
        super().__init__()
        self.stage = stage
        self.positions = {door: DoorPosition.CLOSED for door in Door}
        self.commands: list[tuple[Door, DoorOp]] = []
        self._motion: dict[Door, asyncio.Task] = {}

    def started(self) -> None:
        self.emit(*(ev.DoorStateChanged(door, pos) for door, pos in self.positions.items()))

    def command(self, door: Door, op: DoorOp) -> None:
        self.commands.append((door, op))
        target = DoorPosition.OPEN if op is DoorOp.OPEN else DoorPosition.CLOSED
        moving = DoorPosition.OPENING if op is DoorOp.OPEN else DoorPosition.CLOSING
        if door in self._motion:
            self._motion.pop(door).cancel()
        if self.positions[door] is target:
            self.emit(ev.DoorStateChanged(door, target))  # confirm: the gate waits for a report
            return
        self.positions[door] = moving
        self.emit(ev.DoorStateChanged(door, moving))

        async def move() -> None:
            await asyncio.sleep(self.stage.timings.door_motion_s)
            self.positions[door] = target
            self._motion.pop(door, None)
            self.emit(ev.DoorStateChanged(door, target))

        self._motion[door] = asyncio.get_running_loop().create_task(move())

    # The traveller's movements, as the beams see them.
    def step_in(self) -> None:
        self.emit(ev.EntryPassage(), ev.CompartmentOccupied())

    def second_person_follows(self) -> None:
        self.emit(ev.MoreThanOnePerson(ev.Sensor.BEAMS))

    def step_out_through_exit(self) -> None:
        self.emit(ev.ExitPassage(), ev.CompartmentEmpty())

    def step_back_out(self) -> None:
        self.emit(ev.CompartmentEmpty())


class SimPanel(_Device):
    def __init__(self) -> None:
        super().__init__()
        self.lights: tuple[Light, Light] = (Light.OFF, Light.OFF)
        self.buzzer = BuzzerPattern.SILENT

    def set_lights(self, entry: Light, exit: Light) -> None:
        self.lights = (entry, exit)

    def sound(self, pattern: BuzzerPattern) -> None:
        self.buzzer = pattern

    def fire_alarm(self, on: bool) -> None:
        self.emit(ev.FireAlarmOn() if on else ev.FireAlarmOff())


class SimDisplay(_Device):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def show(self, message: Message, progress: float | None = None) -> None:
        self.messages.append(message)


class SimTelemetry(_Device):
    """Keeps what the daemon would publish; stands in for the control room's commands."""

    def __init__(self) -> None:
        super().__init__()
        self.states: list[PublishState] = []
        self.records: list[TransactionRecord] = []
        self.alarms: list[Alarm] = []
        self.results: list[CommandResult] = []

    def publish_state(self, state: PublishState, doors: dict[str, str]) -> None:
        self.states.append(state)

    def publish_record(self, record: TransactionRecord) -> None:
        self.records.append(record)

    def publish_alarm(self, alarm: Alarm) -> None:
        self.alarms.append(alarm)

    def command_result(self, result: CommandResult) -> None:
        self.results.append(result)

    def officer(self, command: ev.Command) -> None:
        self.emit(command)
