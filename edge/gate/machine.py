"""The gate transaction: a two-step mantrap (BSI TR-03121-3 ABC profile) as a pure state machine.

    gate = Gate(Timeouts(), new_id=lambda: "t-1")
    actions = gate.start(now=0.0)
    actions = gate.handle(DocumentPresented(), now=1.0)
    actions = gate.tick(now=30.0)           # timeouts: call at gate.deadline or later

No I/O, no clock, no randomness of its own: time is passed in, identifiers come from `new_id`. The shells
carry out the returned actions (door commands, lights, display, telemetry) and feed back what happened.

Safety rules enforced here, whatever the event order:
- a door is commanded open only after the other door has *reported* closed since it was last commanded,
  so the two never stand open together outside an emergency;
- the exit opens only for a transaction whose document was authenticated and whose face was verified;
- a fire alarm opens both doors and no close command follows while it lasts;
- every transaction that starts ends in exactly one record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from edge.gate import events as ev
from edge.gate.actions import (
    AcceptDocuments,
    Action,
    BuzzerPattern,
    CommandResult,
    DoorCommand,
    DoorOp,
    Ignored,
    Light,
    Message,
    PublishRecord,
    PublishState,
    RaiseAlarm,
    SetLights,
    ShowMessage,
    SoundBuzzer,
    StartFaceCapture,
    State,
    StopFaceCapture,
)
from edge.gate.events import Door, DoorPosition
from edge.gate.records import Alarm, AlarmKind, FaceComparison, Outcome, TransactionRecord


@dataclass(frozen=True)
class Timeouts:
    """Seconds each step may take before the gate gives up on it (configuration: [gate.timeouts])."""

    document_read_s: float = 10.0
    entry_passage_s: float = 15.0
    entry_close_s: float = 8.0
    face_capture_s: float = 10.0
    exit_passage_s: float = 15.0
    referral_s: float = 60.0


# What each state shows the traveller: (entry light, exit light, message, buzzer, accept documents).
_PRESENTATION: dict[State, tuple[Light, Light, Message, BuzzerPattern, bool]] = {
    State.OUT_OF_SERVICE: (Light.RED_CROSS, Light.RED_CROSS, Message.GATE_CLOSED, BuzzerPattern.SILENT, False),
    State.IDLE: (Light.GREEN_ARROW, Light.RED_CROSS, Message.PLACE_DOCUMENT, BuzzerPattern.SILENT, True),
    State.READING_DOCUMENT: (Light.GREEN_ARROW, Light.RED_CROSS, Message.READING, BuzzerPattern.SILENT, True),
    State.ENTRY_OPEN: (Light.GREEN_ARROW, Light.RED_CROSS, Message.STEP_IN, BuzzerPattern.CHIME, False),
    State.IN_COMPARTMENT: (Light.RED_CROSS, Light.RED_CROSS, Message.WAIT, BuzzerPattern.SILENT, False),
    State.VERIFYING_FACE: (Light.RED_CROSS, Light.RED_CROSS, Message.LOOK_AT_CAMERA, BuzzerPattern.SILENT, False),
    State.EXIT_OPEN: (Light.RED_CROSS, Light.GREEN_ARROW, Message.PROCEED, BuzzerPattern.CHIME, False),
    State.REFERRED: (Light.RED_CROSS, Light.RED_CROSS, Message.SEE_OFFICER, BuzzerPattern.WARNING, False),
    State.EMERGENCY: (Light.GREEN_ARROW, Light.GREEN_ARROW, Message.EMERGENCY, BuzzerPattern.ALARM, False),
    State.FAULT: (Light.RED_CROSS, Light.RED_CROSS, Message.OUT_OF_ORDER, BuzzerPattern.SILENT, False),
}

# How long each state may last; states without an entry wait for an event (or an officer) indefinitely.
_STEP_TIMEOUT: dict[State, str] = {
    State.READING_DOCUMENT: "document_read_s",
    State.ENTRY_OPEN: "entry_passage_s",
    State.IN_COMPARTMENT: "entry_close_s",
    State.VERIFYING_FACE: "face_capture_s",
    State.EXIT_OPEN: "exit_passage_s",
    State.REFERRED: "referral_s",
}

TRANSACTION_STATES = frozenset(
    {State.READING_DOCUMENT, State.ENTRY_OPEN, State.IN_COMPARTMENT, State.VERIFYING_FACE, State.EXIT_OPEN}
)

_REFERRAL_ALARM = {"tailgating": AlarmKind.TAILGATING, "pad_alarm": AlarmKind.PAD}


@dataclass
class _Transaction:
    id: str
    started_at: float
    steps_ms: dict[str, float] = field(default_factory=dict)
    authenticated: bool = False
    verified: bool = False
    document_type: str = ""
    protocol: str = ""
    checks: dict[str, str] = field(default_factory=dict)
    read_ms: float | None = None
    apdu_count: int | None = None
    face: FaceComparison | None = None


class Gate:
    """One gate's transaction state machine. See the module docstring for the contract."""

    def __init__(
        self,
        timeouts: Timeouts | None = None,
        *,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        start_in_service: bool = True,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self._new_id = new_id
        self.state = State.OUT_OF_SERVICE
        self.deadline: float | None = None
        self._entered_at = 0.0
        self._txn: _Transaction | None = None
        # Conditions that outlive a state.
        self._out_of_service = not start_in_service
        self._fire = False
        self._emergency_command = False
        self._link_ok = True
        self._door_fault: str | None = None
        self._alarms: set[str] = set()
        self._occupied = False
        # Door bookkeeping: what we last commanded, and what the controller last reported since then.
        self._positions = {Door.ENTRY: DoorPosition.UNKNOWN, Door.EXIT: DoorPosition.UNKNOWN}
        self.commanded_open: set[Door] = set()
        self._pending_open: Door | None = None
        self._closing_op = {door: DoorOp.LOCK for door in Door}  # how each door was last told to shut

    # --- public API ----------------------------------------------------------------------------------------

    @property
    def transaction_id(self) -> str | None:
        return self._txn.id if self._txn else None

    def start(self, now: float) -> list[Action]:
        """Actions that put the gate into its initial state (doors locked, display set)."""
        out: list[Action] = []
        self._enter(self._service_state(), now, out)
        return out

    def handle(self, event: ev.Event, now: float) -> list[Action]:
        """Apply one event; return the actions to carry out, in order."""
        out: list[Action] = []
        handler = self._GLOBAL.get(type(event))
        if handler is not None:
            handler(self, event, now, out)
        elif isinstance(event, ev.DoorStateChanged):
            self._on_door_state(event, now, out)
        else:
            handler = self._BY_STATE.get((self.state, type(event)))
            if handler is None:
                self._track_occupancy(event)
            else:
                handler(self, event, now, out)
        if not out:
            out.append(Ignored(type(event).__name__, self.state))
        return out

    def tick(self, now: float) -> list[Action]:
        """Handle the current step's timeout if it has expired; otherwise do nothing."""
        out: list[Action] = []
        if self.deadline is None or now < self.deadline:
            return out
        state = self.state
        if state is State.READING_DOCUMENT:
            self._abandon("document_read_timeout", now, out)
        elif state is State.ENTRY_OPEN:
            self._abandon("traveller_did_not_enter", now, out)
        elif state is State.IN_COMPARTMENT:
            self._refer("entry_not_closed", now, out)
        elif state is State.VERIFYING_FACE:
            out.append(StopFaceCapture())
            self._record_face(ev.CaptureTimeout(), "capture_timeout")
            self._refer("capture_timeout", now, out)
        elif state is State.EXIT_OPEN:
            self._refer("exit_not_taken", now, out)
        elif state is State.REFERRED:
            if self._occupied:  # the officer has not cleared the compartment yet: keep waiting
                self.deadline = now + self.timeouts.referral_s
            else:
                self._clear_alarm("referral")
                self._enter(self._service_state(), now, out)
        return out

    # --- global events (any state) -------------------------------------------------------------------------

    def _on_fire_on(self, event: ev.FireAlarmOn, now: float, out: list[Action]) -> None:
        self._fire = True
        self._raise(AlarmKind.FIRE, now, out, reason="fire_alarm_input")
        if self.state is State.EMERGENCY:
            self._open_both(out)
        else:
            self._end_transaction(Outcome.ABORTED, "fire_alarm", now, out)
            self._enter(State.EMERGENCY, now, out)

    def _on_fire_off(self, event: ev.FireAlarmOff, now: float, out: list[Action]) -> None:
        if not self._fire:
            out.append(Ignored(type(event).__name__, self.state))
            return
        self._fire = False
        self._clear_alarm("fire", now, out)
        self._publish_state(out)  # the gate stays in emergency until an officer resets it

    def _on_emergency_open(self, event: ev.EmergencyOpen, now: float, out: list[Action]) -> None:
        self._emergency_command = True
        if self.state is not State.EMERGENCY:
            self._raise(AlarmKind.EMERGENCY_OPEN, now, out, reason=event.origin)
            self._end_transaction(Outcome.ABORTED, "emergency_open", now, out)
            self._enter(State.EMERGENCY, now, out)
        self._result(event, True, "", out)

    def _on_link_lost(self, event: ev.LinkLost, now: float, out: list[Action]) -> None:
        if not self._link_ok:
            out.append(Ignored(type(event).__name__, self.state))
            return
        self._link_ok = False
        self._positions = {door: DoorPosition.UNKNOWN for door in Door}
        self._raise(AlarmKind.LINK_LOST, now, out)
        if self.state is State.EMERGENCY:
            self._publish_state(out)
            return
        self._end_transaction(Outcome.ABORTED, "door_link_lost", now, out)
        self._enter(State.FAULT, now, out)

    def _on_link_restored(self, event: ev.LinkRestored, now: float, out: list[Action]) -> None:
        if self._link_ok:
            out.append(Ignored(type(event).__name__, self.state))
            return
        self._link_ok = True
        self._clear_alarm(AlarmKind.LINK_LOST.value, now, out)
        if self.state is State.FAULT and self._door_fault is None:
            self._enter(self._service_state(), now, out)
        else:
            self._publish_state(out)

    def _on_door_fault(self, event: ev.DoorFault, now: float, out: list[Action]) -> None:
        self._door_fault = f"{event.door.value}:{event.reason}"
        self._raise(AlarmKind.DOOR_FAULT, now, out, reason=self._door_fault)
        if self.state in (State.EMERGENCY, State.FAULT):
            self._publish_state(out)
            return
        self._end_transaction(Outcome.ABORTED, "door_fault", now, out)
        self._enter(State.FAULT, now, out)

    def _on_tamper(self, event: ev.TamperAlarm, now: float, out: list[Action]) -> None:
        self._raise(AlarmKind.TAMPER, now, out, reason="cabinet_opened")
        self._publish_state(out)

    def _on_out_of_service(self, event: ev.OutOfService, now: float, out: list[Action]) -> None:
        self._out_of_service = True
        if self.state is State.IDLE:
            self._enter(State.OUT_OF_SERVICE, now, out)
            self._result(event, True, "", out)
        elif self.state in TRANSACTION_STATES or self.state is State.REFERRED:
            self._result(event, True, "after_current_transaction", out)
        else:
            self._result(event, True, "", out)

    def _on_in_service(self, event: ev.InService, now: float, out: list[Action]) -> None:
        if self.state in (State.EMERGENCY, State.FAULT):
            self._result(event, False, f"gate_in_{self.state.value}", out)
            return
        self._out_of_service = False
        if self.state is State.OUT_OF_SERVICE:
            self._enter(State.IDLE, now, out)
        self._result(event, True, "", out)

    def _on_reset(self, event: ev.Reset, now: float, out: list[Action]) -> None:
        state = self.state
        if state is State.EMERGENCY:
            if self._fire:
                self._result(event, False, "fire_alarm_active", out)
                return
            self._emergency_command = False
            self._clear_alarm(AlarmKind.EMERGENCY_OPEN.value, now, out)
        elif state is State.FAULT:
            self._door_fault = None
            self._clear_alarm(AlarmKind.DOOR_FAULT.value, now, out)
            if not self._link_ok:
                self._result(event, False, "door_link_lost", out)
                self._publish_state(out)
                return
        elif state is State.REFERRED:
            for kind in ("referral", AlarmKind.TAILGATING.value, AlarmKind.PAD.value):
                self._clear_alarm(kind, now, out)
        else:
            self._clear_alarm(AlarmKind.TAMPER.value, now, out)
            self._result(event, True, "nothing_to_reset", out)
            self._publish_state(out)
            return
        self._door_fault = None
        self._enter(self._after_emergency_or_fault(), now, out)
        self._result(event, True, "", out)

    # --- per-state events -----------------------------------------------------------------------------------

    def _idle_document_presented(self, event: ev.DocumentPresented, now: float, out: list[Action]) -> None:
        self._txn = _Transaction(id=self._new_id(), started_at=now)
        self._enter(State.READING_DOCUMENT, now, out)

    def _reading_authenticated(self, event: ev.DocumentAuthenticated, now: float, out: list[Action]) -> None:
        txn = self._require_txn()
        txn.authenticated = True
        self._keep_document_facts(txn, event.protocol, event.checks)
        txn.document_type = event.document_type
        txn.read_ms = event.read_ms
        txn.apdu_count = event.apdu_count
        self._enter(State.ENTRY_OPEN, now, out)
        self._request_open(Door.ENTRY, out)

    def _reading_rejected(self, event: ev.DocumentRejected, now: float, out: list[Action]) -> None:
        self._keep_document_facts(self._require_txn(), event.protocol, event.checks)
        if event.retryable:
            self._abandon(event.reason, now, out)
            out.append(ShowMessage(Message.REMOVE_DOCUMENT_TRY_AGAIN))
        else:
            self._refer(event.reason, now, out)

    def _entry_open_entered(self, event: ev.Event, now: float, out: list[Action]) -> None:
        self._occupied = True
        self._enter(State.IN_COMPARTMENT, now, out)
        self._close(Door.ENTRY, out)

    def _in_compartment_empty(self, event: ev.CompartmentEmpty, now: float, out: list[Action]) -> None:
        self._occupied = False
        self._abandon("traveller_left", now, out)

    def _tailgating(self, event: ev.MoreThanOnePerson, now: float, out: list[Action]) -> None:
        if event.sensor is ev.Sensor.CAMERA:
            if self.state is State.VERIFYING_FACE:
                out.append(ShowMessage(Message.APPEAR_ALONE))
            else:
                out.append(Ignored(type(event).__name__, self.state))
            return
        if self.state is State.VERIFYING_FACE:
            out.append(StopFaceCapture())
        self._refer("tailgating", now, out)

    def _face_outcome(self, event: ev.FaceOutcome, now: float, out: list[Action]) -> None:
        out.append(StopFaceCapture())
        txn = self._require_txn()
        if isinstance(event, ev.FaceVerified):
            self._record_face(event, "match")
            txn.verified = True
            self._enter(State.EXIT_OPEN, now, out)
            self._request_open(Door.EXIT, out)
            return
        decision, reason = {
            ev.FaceRejected: ("no_match", "face_mismatch"),
            ev.PadAlarm: ("pad_alarm", "pad_alarm"),
            ev.CaptureTimeout: ("capture_timeout", "capture_timeout"),
        }[type(event)]
        self._record_face(event, decision)
        self._refer(reason, now, out)

    def _exit_passage(self, event: ev.ExitPassage, now: float, out: list[Action]) -> None:
        self._occupied = False
        self._end_transaction(Outcome.CLEARED, "ok", now, out)
        self._enter(self._service_state(), now, out)

    def _occupancy_only(self, event: ev.Event, now: float, out: list[Action]) -> None:
        self._track_occupancy(event)

    # --- doors ----------------------------------------------------------------------------------------------

    def _on_door_state(self, event: ev.DoorStateChanged, now: float, out: list[Action]) -> None:
        self._positions[event.door] = event.position
        if (
            event.position is DoorPosition.OPEN
            and event.door not in self.commanded_open
            and self._pending_open is not event.door
            and self.state is not State.EMERGENCY
        ):
            # Open though we want it shut: reversed by its anti-pinch, or opened by a restarted controller's
            # power-on safe state. Ask again; the step's timeout refers the traveller if it never closes.
            self._command(event.door, self._closing_op[event.door], out)
        pending = self._pending_open
        if pending is not None and self._positions[_other(pending)] is DoorPosition.CLOSED:
            self._pending_open = None
            self._command(pending, DoorOp.OPEN, out)
        if (
            self.state is State.IN_COMPARTMENT
            and event.door is Door.ENTRY
            and event.position is DoorPosition.CLOSED
            and self._occupied
        ):
            self._enter(State.VERIFYING_FACE, now, out)
            out.append(StartFaceCapture(self._require_txn().id))

    def _request_open(self, door: Door, out: list[Action]) -> None:
        """Open `door` now if the other door has reported closed, else as soon as it does."""
        if door is Door.EXIT and not (self._txn and self._txn.authenticated and self._txn.verified):
            raise AssertionError("exit may open only for an authenticated and verified traveller")
        if self._positions[_other(door)] is DoorPosition.CLOSED:
            self._command(door, DoorOp.OPEN, out)
        else:
            self._pending_open = door

    def _close(self, door: Door, out: list[Action], op: DoorOp = DoorOp.CLOSE) -> None:
        if self._pending_open is door:
            self._pending_open = None
        self._command(door, op, out)

    def _open_both(self, out: list[Action]) -> None:
        self._pending_open = None
        for door in Door:
            self._command(door, DoorOp.OPEN, out)

    def _command(self, door: Door, op: DoorOp, out: list[Action]) -> None:
        if op is DoorOp.OPEN:
            self.commanded_open.add(door)
            self._positions[door] = DoorPosition.OPENING
        else:
            self.commanded_open.discard(door)
            self._closing_op[door] = op
            # Until the controller reports again, the door counts as not closed.
            if self._positions[door] is not DoorPosition.CLOSED:
                self._positions[door] = DoorPosition.CLOSING
        out.append(DoorCommand(door, op))

    # --- transitions ----------------------------------------------------------------------------------------

    def _enter(self, state: State, now: float, out: list[Action]) -> None:
        if self._txn is not None and self.state in TRANSACTION_STATES:
            step = self.state.value
            self._txn.steps_ms[step] = self._txn.steps_ms.get(step, 0.0) + (now - self._entered_at) * 1000.0
        self.state = state
        self._entered_at = now
        timeout_key = _STEP_TIMEOUT.get(state)
        self.deadline = now + getattr(self.timeouts, timeout_key) if timeout_key else None

        entry_light, exit_light, message, buzzer, accept = _PRESENTATION[state]
        if state is State.EMERGENCY:
            self._open_both(out)
        elif state in (State.IDLE, State.OUT_OF_SERVICE, State.FAULT):
            # Lock both doors whenever no traveller is being served (the firmware keeps its own safe state
            # on link loss; commanding it anyway is harmless and makes the intent explicit).
            self._close(Door.ENTRY, out, DoorOp.LOCK)
            self._close(Door.EXIT, out, DoorOp.LOCK)
        elif state is State.REFERRED:
            self._close(Door.EXIT, out, DoorOp.LOCK)
            if self._occupied:  # let the traveller back out towards the officer, never forward
                self._request_open(Door.ENTRY, out)
            else:
                self._close(Door.ENTRY, out)
        out.append(SetLights(entry_light, exit_light))
        out.append(SoundBuzzer(buzzer))
        out.append(ShowMessage(message))
        out.append(AcceptDocuments(accept))
        self._publish_state(out)

    def _service_state(self) -> State:
        return State.OUT_OF_SERVICE if self._out_of_service else State.IDLE

    def _after_emergency_or_fault(self) -> State:
        if self._fire:
            return State.EMERGENCY
        if not self._link_ok or self._door_fault is not None:
            return State.FAULT
        return self._service_state()

    def _abandon(self, reason: str, now: float, out: list[Action]) -> None:
        self._end_transaction(Outcome.ABANDONED, reason, now, out)
        self._enter(self._service_state(), now, out)

    def _refer(self, reason: str, now: float, out: list[Action]) -> None:
        self._end_transaction(Outcome.REFERRED, reason, now, out)
        self._raise(_REFERRAL_ALARM.get(reason, AlarmKind.REFERRAL), now, out, reason=reason)
        self._alarms.add("referral")
        self._enter(State.REFERRED, now, out)

    def _end_transaction(self, outcome: Outcome, reason: str, now: float, out: list[Action]) -> None:
        txn = self._txn
        if txn is None:
            return
        if self.state in TRANSACTION_STATES:
            step = self.state.value
            txn.steps_ms[step] = txn.steps_ms.get(step, 0.0) + (now - self._entered_at) * 1000.0
        if self.state is State.VERIFYING_FACE:
            out.append(StopFaceCapture())
        self._txn = None
        out.append(
            PublishRecord(
                TransactionRecord(
                    transaction_id=txn.id,
                    started_at=txn.started_at,
                    ended_at=now,
                    outcome=outcome,
                    reason=reason,
                    steps_ms={k: round(v, 3) for k, v in txn.steps_ms.items()},
                    document_type=txn.document_type,
                    protocol=txn.protocol,
                    checks=dict(txn.checks),
                    face=txn.face,
                    read_ms=txn.read_ms,
                    apdu_count=txn.apdu_count,
                )
            )
        )
        # Leave the transaction states' timing so _enter does not count the same step twice.
        self._entered_at = now

    # --- small helpers --------------------------------------------------------------------------------------

    def _require_txn(self) -> _Transaction:
        if self._txn is None:  # cannot happen: transaction states always carry one
            raise AssertionError(f"no transaction in state {self.state}")
        return self._txn

    @staticmethod
    def _keep_document_facts(txn: _Transaction, protocol: str, checks: tuple[tuple[str, ev.CheckResult], ...]):
        txn.protocol = protocol or txn.protocol
        txn.checks.update({name: result.value for name, result in checks})

    def _record_face(self, event: ev.FaceOutcome, decision: str) -> None:
        if self._txn is not None:
            self._txn.face = FaceComparison(
                score=event.score,
                threshold=event.threshold,
                decision=decision,
                quality=event.quality,
                pad_score=event.pad_score,
            )

    def _track_occupancy(self, event: ev.Event) -> None:
        if isinstance(event, ev.CompartmentOccupied | ev.EntryPassage):
            self._occupied = True
        elif isinstance(event, ev.CompartmentEmpty | ev.ExitPassage):
            self._occupied = False

    def _raise(self, kind: AlarmKind, now: float, out: list[Action], reason: str = "") -> None:
        self._alarms.add(kind.value)
        out.append(RaiseAlarm(Alarm(kind, now, reason, self.transaction_id)))

    def _clear_alarm(self, name: str, now: float | None = None, out: list[Action] | None = None) -> None:
        if name not in self._alarms:
            return
        self._alarms.discard(name)
        if out is not None and now is not None and name in AlarmKind._value2member_map_:
            out.append(RaiseAlarm(Alarm(AlarmKind(name), now, "cleared", None, active=False)))

    def _publish_state(self, out: list[Action]) -> None:
        if self.state is State.EMERGENCY:
            mode = "emergency"
        elif self.state is State.FAULT:
            mode = "fault"
        elif self._out_of_service:
            mode = "out_of_service"
        else:
            mode = "in_service"
        out.append(PublishState(self.state, self.transaction_id, tuple(sorted(self._alarms)), mode))

    def _result(self, event: ev.Command, accepted: bool, reason: str, out: list[Action]) -> None:
        out.append(CommandResult(event.command_id, type(event).__name__, accepted, reason))

    _GLOBAL: ClassVar[dict[type, Callable]] = {
        ev.FireAlarmOn: _on_fire_on,
        ev.FireAlarmOff: _on_fire_off,
        ev.EmergencyOpen: _on_emergency_open,
        ev.LinkLost: _on_link_lost,
        ev.LinkRestored: _on_link_restored,
        ev.DoorFault: _on_door_fault,
        ev.TamperAlarm: _on_tamper,
        ev.OutOfService: _on_out_of_service,
        ev.InService: _on_in_service,
        ev.Reset: _on_reset,
    }

    _BY_STATE: ClassVar[dict[tuple[State, type], Callable]] = {
        (State.IDLE, ev.DocumentPresented): _idle_document_presented,
        (State.READING_DOCUMENT, ev.DocumentAuthenticated): _reading_authenticated,
        (State.READING_DOCUMENT, ev.DocumentRejected): _reading_rejected,
        (State.ENTRY_OPEN, ev.EntryPassage): _entry_open_entered,
        (State.ENTRY_OPEN, ev.CompartmentOccupied): _entry_open_entered,
        (State.ENTRY_OPEN, ev.MoreThanOnePerson): _tailgating,
        (State.IN_COMPARTMENT, ev.CompartmentEmpty): _in_compartment_empty,
        (State.IN_COMPARTMENT, ev.MoreThanOnePerson): _tailgating,
        (State.VERIFYING_FACE, ev.MoreThanOnePerson): _tailgating,
        (State.VERIFYING_FACE, ev.FaceVerified): _face_outcome,
        (State.VERIFYING_FACE, ev.FaceRejected): _face_outcome,
        (State.VERIFYING_FACE, ev.PadAlarm): _face_outcome,
        (State.VERIFYING_FACE, ev.CaptureTimeout): _face_outcome,
        (State.EXIT_OPEN, ev.MoreThanOnePerson): _tailgating,
        (State.EXIT_OPEN, ev.ExitPassage): _exit_passage,
        (State.REFERRED, ev.CompartmentEmpty): _occupancy_only,
        (State.REFERRED, ev.CompartmentOccupied): _occupancy_only,
        (State.REFERRED, ev.ExitPassage): _occupancy_only,
        (State.REFERRED, ev.EntryPassage): _occupancy_only,
    }


def _other(door: Door) -> Door:
    return Door.EXIT if door is Door.ENTRY else Door.ENTRY
