"""Drive a fresh gate core into each state with the events a real gate would see on the way."""

from __future__ import annotations

from itertools import count

from edge.gate import events as ev
from edge.gate.actions import Action, DoorCommand, DoorOp, State
from edge.gate.events import Door, DoorPosition
from edge.gate.machine import Gate, Timeouts

TIMEOUTS = Timeouts(
    document_read_s=10, entry_passage_s=15, entry_close_s=8, face_capture_s=10, exit_passage_s=15, referral_s=60
)


def new_gate(in_service: bool = True) -> Gate:
    ids = count(1)
    return Gate(TIMEOUTS, new_id=lambda: f"txn-{next(ids)}", start_in_service=in_service)


def closed(door: Door) -> ev.DoorStateChanged:
    return ev.DoorStateChanged(door, DoorPosition.CLOSED)


def opened(door: Door) -> ev.DoorStateChanged:
    return ev.DoorStateChanged(door, DoorPosition.OPEN)


GENUINE = ev.DocumentAuthenticated(protocol="PACE", document_type="TD3", portrait="portrait")
FORGED = ev.DocumentRejected("document_forged")
VERIFIED = ev.FaceVerified(score=0.8, threshold=0.363, quality=0.9, pad_score=0.05)

# The events that lead from a fresh gate into each state.
PATHS: dict[State, list[ev.Event]] = {
    State.OUT_OF_SERVICE: [closed(Door.ENTRY), closed(Door.EXIT), ev.OutOfService()],
    State.IDLE: [closed(Door.ENTRY), closed(Door.EXIT)],
    State.READING_DOCUMENT: [closed(Door.ENTRY), closed(Door.EXIT), ev.DocumentPresented()],
    State.ENTRY_OPEN: [closed(Door.ENTRY), closed(Door.EXIT), ev.DocumentPresented(), GENUINE, opened(Door.ENTRY)],
    State.IN_COMPARTMENT: [
        closed(Door.ENTRY), closed(Door.EXIT), ev.DocumentPresented(), GENUINE, opened(Door.ENTRY), ev.EntryPassage(),
    ],
    State.VERIFYING_FACE: [
        closed(Door.ENTRY), closed(Door.EXIT), ev.DocumentPresented(), GENUINE, opened(Door.ENTRY), ev.EntryPassage(),
        closed(Door.ENTRY),
    ],
    State.EXIT_OPEN: [
        closed(Door.ENTRY), closed(Door.EXIT), ev.DocumentPresented(), GENUINE, opened(Door.ENTRY), ev.EntryPassage(),
        closed(Door.ENTRY), VERIFIED, opened(Door.EXIT),
    ],
    State.REFERRED: [closed(Door.ENTRY), closed(Door.EXIT), ev.DocumentPresented(), FORGED],
    State.EMERGENCY: [closed(Door.ENTRY), closed(Door.EXIT), ev.EmergencyOpen(command_id="c1")],
    State.FAULT: [closed(Door.ENTRY), closed(Door.EXIT), ev.LinkLost()],
}


def gate_in(state: State, now: float = 100.0) -> Gate:
    gate = new_gate()
    gate.start(now)
    for event in PATHS[state]:
        gate.handle(event, now)
    assert gate.state is state, f"path to {state} ended in {gate.state}"
    return gate


def door_commands(actions: list[Action]) -> list[tuple[Door, DoorOp]]:
    return [(a.door, a.op) for a in actions if isinstance(a, DoorCommand)]
