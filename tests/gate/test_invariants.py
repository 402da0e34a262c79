"""Safety invariants of the gate core under random event orders and clocks (hypothesis).

- entry and exit are never commanded open together outside an emergency, and a door is commanded open
  only once the other door has reported closed since it was last opened;
- the exit opens only for a transaction whose document was authenticated and whose face was verified;
- a fire alarm opens both doors, and no close or lock command follows while it lasts;
- every started transaction ends in exactly one record.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.gate import events as ev
from edge.gate.actions import DoorCommand, DoorOp, PublishRecord, PublishState, State
from edge.gate.events import Door, DoorPosition, Sensor
from tests.gate.helpers import gate_in, new_gate

door_reports = st.builds(ev.DoorStateChanged, st.sampled_from(list(Door)), st.sampled_from(list(DoorPosition)))
face_fields = {"score": st.floats(-1, 1), "threshold": st.just(0.363)}
EVENT = st.one_of(
    st.just(ev.DocumentPresented()),
    st.builds(ev.DocumentAuthenticated, protocol=st.sampled_from(["BAC", "PACE"])),
    st.builds(ev.DocumentRejected, st.sampled_from(["document_forged", "card_removed"]), st.booleans()),
    st.sampled_from([ev.EntryPassage(), ev.CompartmentOccupied(), ev.CompartmentEmpty(), ev.ExitPassage()]),
    st.builds(ev.MoreThanOnePerson, st.sampled_from(list(Sensor))),
    door_reports,
    door_reports,  # doors report often on a real gate: weigh them up
    st.builds(ev.DoorFault, st.sampled_from(list(Door)), st.just("obstruction")),
    st.sampled_from([ev.LinkLost(), ev.LinkRestored(), ev.FireAlarmOn(), ev.FireAlarmOff(), ev.TamperAlarm()]),
    st.builds(ev.FaceVerified, **face_fields),
    st.builds(ev.FaceRejected, **face_fields),
    st.builds(ev.PadAlarm, **face_fields),
    st.just(ev.CaptureTimeout()),
    st.sampled_from([ev.OutOfService(), ev.InService(), ev.EmergencyOpen(), ev.Reset()]),
)
# Each step: an event after a delay, or just the passing of time (the shell's timer calling tick).
STEP = st.tuples(st.floats(0, 90, allow_nan=False), st.one_of(st.none(), EVENT))


class Observer:
    """An independent account of what the gate did, built only from the events fed and actions returned."""

    def __init__(self) -> None:
        self.fire = False
        self.authenticated: set[str] = set()
        self.verified: set[str] = set()
        self.started: set[str] = set()
        self.recorded: list[str] = []
        self.confirmed_closed = {door: False for door in Door}  # a CLOSED report since the last open

    def check(self, gate, event, state_before, txn_before, actions) -> None:
        if isinstance(event, ev.FireAlarmOn):
            self.fire = True
        elif isinstance(event, ev.FireAlarmOff):
            self.fire = False
        if isinstance(event, ev.DocumentAuthenticated) and state_before is State.READING_DOCUMENT:
            self.authenticated.add(txn_before)
        if isinstance(event, ev.FaceVerified) and state_before is State.VERIFYING_FACE:
            self.verified.add(txn_before)
        if isinstance(event, ev.DoorStateChanged):
            self.confirmed_closed[event.door] = event.position is DoorPosition.CLOSED
        if isinstance(event, ev.LinkLost):
            self.confirmed_closed = {door: False for door in Door}

        for action in actions:
            if isinstance(action, PublishState) and action.transaction_id:
                self.started.add(action.transaction_id)
            if isinstance(action, PublishRecord):
                self.recorded.append(action.record.transaction_id)
            if isinstance(action, DoorCommand):
                if action.op is DoorOp.OPEN:
                    other = Door.EXIT if action.door is Door.ENTRY else Door.ENTRY
                    if gate.state is not State.EMERGENCY:
                        assert self.confirmed_closed[other], f"{action.door} opened before {other} reported closed"
                    self.confirmed_closed[action.door] = False
                if action.door is Door.EXIT and action.op is DoorOp.OPEN and gate.state is not State.EMERGENCY:
                    txn = gate.transaction_id
                    assert txn in self.authenticated and txn in self.verified, "exit opened without both checks"
                if self.fire:
                    assert action.op is DoorOp.OPEN, f"{action} during a fire alarm"

        if gate.state is not State.EMERGENCY:
            assert gate.commanded_open != {Door.ENTRY, Door.EXIT}, "both doors open outside an emergency"
        if self.fire:
            assert gate.state is State.EMERGENCY
            assert gate.commanded_open == {Door.ENTRY, Door.EXIT}
        assert len(self.recorded) == len(set(self.recorded)), "a transaction got two records"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, max_size=80), in_service=st.booleans())
def test_invariants_hold_for_any_event_sequence(steps, in_service):
    gate = new_gate(in_service)
    observer = Observer()
    now = 1_000.0
    observer.check(gate, None, gate.state, None, gate.start(now))
    for delay, event in steps:
        now += delay
        state_before, txn_before = gate.state, gate.transaction_id
        actions = gate.tick(now) if event is None else gate.handle(event, now)
        observer.check(gate, event, state_before, txn_before, actions)
    # Every transaction that started has ended in its record, except the one still running.
    unfinished = observer.started - set(observer.recorded)
    assert unfinished <= {gate.transaction_id}


def test_a_genuine_traveller_passes_and_gets_one_record():
    """The happy path, spelt out: the reference the random test wanders away from."""
    gate = new_gate()
    out = gate.start(0.0)
    out += gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.CLOSED), 0.1)
    out += gate.handle(ev.DoorStateChanged(Door.EXIT, DoorPosition.CLOSED), 0.1)
    out += gate.handle(ev.DocumentPresented(), 1.0)
    out += gate.handle(ev.DocumentAuthenticated(protocol="PACE", document_type="TD1"), 1.1)
    assert DoorCommand(Door.ENTRY, DoorOp.OPEN) in out
    out += gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.OPEN), 1.5)
    out += gate.handle(ev.EntryPassage(), 3.0)
    assert gate.state is State.IN_COMPARTMENT
    out += gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.CLOSED), 4.0)
    assert gate.state is State.VERIFYING_FACE
    exit_opens = gate.handle(ev.FaceVerified(score=0.7, threshold=0.363, quality=0.9, pad_score=0.1), 5.0)
    assert DoorCommand(Door.EXIT, DoorOp.OPEN) in exit_opens
    out += exit_opens
    out += gate.handle(ev.ExitPassage(), 7.0)
    records = [a.record for a in out if isinstance(a, PublishRecord)]
    assert len(records) == 1
    record = records[0]
    assert (record.outcome.value, record.reason, record.protocol, record.document_type) == (
        "cleared", "ok", "PACE", "TD1"
    )
    assert record.face is not None and record.face.score == 0.7 and record.face.threshold == 0.363
    assert set(record.steps_ms) == {"reading_document", "entry_open", "in_compartment", "verifying_face", "exit_open"}
    assert record.steps_ms["verifying_face"] == 1000.0
    assert gate.state is State.IDLE


def test_exit_waits_for_the_entry_to_report_closed():
    gate = gate_in(State.VERIFYING_FACE, now=1.0)
    # The entry is reopened by a fault of the controller: verification goes on, the exit must wait.
    gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.OPENING), 1.5)
    actions = gate.handle(ev.FaceVerified(score=0.8, threshold=0.363), 2.0)
    assert DoorCommand(Door.EXIT, DoorOp.OPEN) not in actions
    later = gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.CLOSED), 2.5)
    assert DoorCommand(Door.EXIT, DoorOp.OPEN) in later


def test_fire_during_verification_opens_both_doors_and_aborts_the_transaction():
    gate = gate_in(State.VERIFYING_FACE, now=1.0)
    actions = gate.handle(ev.FireAlarmOn(), 2.0)
    assert DoorCommand(Door.ENTRY, DoorOp.OPEN) in actions and DoorCommand(Door.EXIT, DoorOp.OPEN) in actions
    records = [a.record for a in actions if isinstance(a, PublishRecord)]
    assert [(r.outcome.value, r.reason) for r in records] == [("aborted", "fire_alarm")]
    refused = gate.handle(ev.Reset(command_id="r1"), 3.0)
    assert gate.state is State.EMERGENCY
    assert any(getattr(a, "reason", "") == "fire_alarm_active" for a in refused)
    gate.handle(ev.FireAlarmOff(), 4.0)
    gate.handle(ev.Reset(command_id="r2"), 5.0)
    assert gate.state is State.IDLE
    assert gate.commanded_open == set()


def test_out_of_service_waits_for_the_current_traveller():
    gate = new_gate()
    gate.start(0.0)
    gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.CLOSED), 0.0)
    gate.handle(ev.DoorStateChanged(Door.EXIT, DoorPosition.CLOSED), 0.0)
    gate.handle(ev.DocumentPresented(), 1.0)
    answer = gate.handle(ev.OutOfService(command_id="c9"), 1.1)
    assert gate.state is State.READING_DOCUMENT
    assert any(getattr(a, "reason", None) == "after_current_transaction" for a in answer)
    gate.handle(ev.DocumentRejected("card_removed", retryable=True), 1.2)
    assert gate.state is State.OUT_OF_SERVICE


def test_a_door_reversed_by_its_anti_pinch_is_told_to_close_again():
    gate = gate_in(State.IN_COMPARTMENT, now=1.0)
    gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.CLOSING), 1.5)
    again = gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.OPEN), 2.0)  # a bag in the door
    assert DoorCommand(Door.ENTRY, DoorOp.CLOSE) in again
    gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.CLOSED), 3.0)
    assert gate.state is State.VERIFYING_FACE


def test_a_door_opened_by_a_restarted_controller_is_locked_again_when_idle():
    gate = new_gate()
    gate.start(0.0)
    gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.CLOSED), 0.0)
    gate.handle(ev.DoorStateChanged(Door.EXIT, DoorPosition.CLOSED), 0.0)
    actions = gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.OPEN), 1.0)
    assert DoorCommand(Door.ENTRY, DoorOp.LOCK) in actions
