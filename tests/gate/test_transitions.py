"""Every state x event pair of the gate core has a defined result: this table is the specification."""

from __future__ import annotations

import pytest

from edge.gate import events as ev
from edge.gate.actions import CommandResult, Ignored, State
from edge.gate.events import Door, Sensor
from tests.gate.helpers import FORGED, GENUINE, VERIFIED, closed, gate_in, opened

S = State

# One representative of every event the core accepts (variants that behave differently are listed apart).
EVENTS: dict[str, ev.Event] = {
    "document_presented": ev.DocumentPresented(),
    "document_authenticated": GENUINE,
    "document_rejected": FORGED,
    "document_rejected_retryable": ev.DocumentRejected("card_removed", retryable=True),
    "entry_passage": ev.EntryPassage(),
    "compartment_occupied": ev.CompartmentOccupied(),
    "compartment_empty": ev.CompartmentEmpty(),
    "two_people_beams": ev.MoreThanOnePerson(Sensor.BEAMS),
    "two_faces_camera": ev.MoreThanOnePerson(Sensor.CAMERA),
    "exit_passage": ev.ExitPassage(),
    "entry_closed": closed(Door.ENTRY),
    "exit_opened": opened(Door.EXIT),
    "door_fault": ev.DoorFault(Door.ENTRY, "motion_timeout"),
    "link_lost": ev.LinkLost(),
    "link_restored": ev.LinkRestored(),
    "face_verified": VERIFIED,
    "face_rejected": ev.FaceRejected(score=0.1, threshold=0.363),
    "pad_alarm": ev.PadAlarm(score=0.7, threshold=0.363, pad_score=0.95),
    "capture_timeout": ev.CaptureTimeout(),
    "fire_on": ev.FireAlarmOn(),
    "fire_off": ev.FireAlarmOff(),
    "tamper": ev.TamperAlarm(),
    "out_of_service": ev.OutOfService(command_id="c"),
    "in_service": ev.InService(command_id="c"),
    "emergency_open": ev.EmergencyOpen(command_id="c"),
    "reset": ev.Reset(command_id="c"),
}

# Transitions shared by every state unless a state says otherwise.
EVERYWHERE = {
    "fire_on": S.EMERGENCY,
    "emergency_open": S.EMERGENCY,
    "link_lost": S.FAULT,
    "door_fault": S.FAULT,
}

# state -> {event: next state}; any pair not listed leaves the state unchanged.
TABLE: dict[State, dict[str, State]] = {
    S.OUT_OF_SERVICE: {**EVERYWHERE, "in_service": S.IDLE},
    S.IDLE: {**EVERYWHERE, "document_presented": S.READING_DOCUMENT, "out_of_service": S.OUT_OF_SERVICE},
    S.READING_DOCUMENT: {
        **EVERYWHERE,
        "document_authenticated": S.ENTRY_OPEN,
        "document_rejected": S.REFERRED,
        "document_rejected_retryable": S.IDLE,
    },
    S.ENTRY_OPEN: {
        **EVERYWHERE,
        "entry_passage": S.IN_COMPARTMENT,
        "compartment_occupied": S.IN_COMPARTMENT,
        "two_people_beams": S.REFERRED,
    },
    S.IN_COMPARTMENT: {
        **EVERYWHERE,
        "compartment_empty": S.IDLE,
        "two_people_beams": S.REFERRED,
        "entry_closed": S.VERIFYING_FACE,
    },
    S.VERIFYING_FACE: {
        **EVERYWHERE,
        "face_verified": S.EXIT_OPEN,
        "face_rejected": S.REFERRED,
        "pad_alarm": S.REFERRED,
        "capture_timeout": S.REFERRED,
        "two_people_beams": S.REFERRED,
    },
    S.EXIT_OPEN: {**EVERYWHERE, "exit_passage": S.IDLE, "two_people_beams": S.REFERRED},
    S.REFERRED: {**EVERYWHERE, "reset": S.IDLE},
    # Reached by the control room's emergency open (no fire): an officer's reset ends it.
    S.EMERGENCY: {"reset": S.IDLE, "link_lost": S.EMERGENCY, "door_fault": S.EMERGENCY},
    # Reached by link loss: only the link coming back ends it; a reset is refused while the link is down.
    S.FAULT: {"link_restored": S.IDLE, "fire_on": S.EMERGENCY, "emergency_open": S.EMERGENCY},
}


def test_table_names_only_known_events_and_every_state():
    assert set(TABLE) == set(State)
    for row in TABLE.values():
        assert set(row) <= set(EVENTS)


def test_every_event_type_is_represented():
    assert {type(e) for e in EVENTS.values()} == set(ev.ALL_EVENT_TYPES)


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
@pytest.mark.parametrize("event_name", list(EVENTS))
def test_state_event_pair(state: State, event_name: str):
    gate = gate_in(state)
    actions = gate.handle(EVENTS[event_name], now=101.0)
    expected = TABLE[state].get(event_name, state)
    assert gate.state is expected
    assert actions, "the core always answers: actions, or an explicit Ignored"
    if any(isinstance(a, Ignored) for a in actions):
        assert expected is state and len(actions) == 1
    commands = [a for a in actions if isinstance(a, CommandResult)]
    if isinstance(EVENTS[event_name], ev.Command):
        assert len(commands) == 1, "every command gets exactly one answer"


TIMEOUT_TABLE = {
    S.READING_DOCUMENT: (S.IDLE, "document_read_timeout"),
    S.ENTRY_OPEN: (S.IDLE, "traveller_did_not_enter"),
    S.IN_COMPARTMENT: (S.REFERRED, "entry_not_closed"),
    S.VERIFYING_FACE: (S.REFERRED, "capture_timeout"),
    S.EXIT_OPEN: (S.REFERRED, "exit_not_taken"),
}


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_every_step_times_out_as_specified(state: State):
    gate = gate_in(state)
    deadline = gate.deadline
    if state in TIMEOUT_TABLE:
        assert deadline is not None
        assert gate.tick(deadline - 0.001) == []
        actions = gate.tick(deadline)
        expected_state, reason = TIMEOUT_TABLE[state]
        assert gate.state is expected_state
        records = [a.record for a in actions if hasattr(a, "record")]
        assert [r.reason for r in records] == [reason]
    elif state is S.REFERRED:
        assert deadline is not None
        gate.tick(deadline)
        assert gate.state is S.IDLE  # nobody inside: the referral clears by itself
    else:
        assert deadline is None
        assert gate.tick(1e12) == []
