"""The host link state machine, byte for byte and with time passed in: no port, no clock, no threads.

The MCU side of each conversation is written by hand with the shared protocol module (firmware/protocol.py).
"""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.doors.link import (
    CommandRefused,
    CommandUnacknowledged,
    DoorLink,
    LinkDown,
    McuHello,
    SensorNotice,
)
from edge.doors.settings import DoorLinkSettings
from edge.gate.actions import DoorOp
from edge.gate.events import (
    CompartmentOccupied,
    Door,
    DoorFault,
    DoorPosition,
    DoorStateChanged,
    EntryPassage,
    FireAlarmOff,
    FireAlarmOn,
    LinkLost,
    LinkRestored,
    MoreThanOnePerson,
    Sensor,
)
from firmware import protocol as P

SETTINGS = DoorLinkSettings(port="/dev/null", ack_timeout_s=0.1, retries=3, link_timeout_s=1.0, heartbeat_s=0.25)
SESSION = 0x1234ABCD


class Mcu:
    """The MCU's end, by hand: frames to feed the link, and the host's frames decoded."""

    def __init__(self, boot: int = 7) -> None:
        self.boot = boot
        self.seq = 0
        self.decoder = P.Decoder()

    def frame(self, message: P.Message) -> bytes:
        self.seq = P.next_seq(self.seq)
        message.seq = self.seq
        return P.encode(message)

    def hello(self, boot: int | None = None) -> bytes:
        return self.frame(P.Hello(P.ROLE_MCU, P.VERSION, 1, 2, 3, self.boot if boot is None else boot, P.RESET_SOFT))

    def status(self, entry=P.POS_CLOSED, exit=P.POS_CLOSED, flags=P.SF_SESSION | P.SF_LINK_OK, faults=(0, 0)) -> bytes:
        doors = (P.DoorStatus(entry, fault=faults[0]), P.DoorStatus(exit, fault=faults[1]))
        return self.frame(P.Status(flags=flags, doors=doors))

    def event(self, code: int, door: int = P.DOOR_ALL, detail: int = 0) -> bytes:
        return self.frame(P.Event(code, door, detail))

    def read(self, link: DoorLink) -> list[P.Message]:
        items = self.decoder.feed(link.data_to_send())
        assert not [i for i in items if isinstance(i, P.ProtocolError)]
        return items


def commands(messages: list[P.Message]) -> list[P.Command]:
    return [m for m in messages if isinstance(m, P.Command)]


@pytest.fixture
def mcu() -> Mcu:
    return Mcu()


@pytest.fixture
def link(mcu: Mcu) -> DoorLink:
    """A link that has met the MCU: HELLOs exchanged, a session open, both doors reported closed.
    (At t = 0.99 s: the tests that follow run within the link timeout unless they say otherwise.)"""
    link = DoorLink(SETTINGS, session=SESSION, now=0.9)
    link.receive_data(mcu.hello() + mcu.status(), now=0.99)
    mcu.read(link)
    link.receive_data(mcu.hello() + mcu.status(), now=0.99)  # its answer to our HELLO
    mcu.read(link)
    link.next_events()
    link.next_notices()
    return link


# --- opening the conversation -------------------------------------------------------------------------------


def test_the_host_opens_with_a_hello_carrying_its_session_number(mcu):
    link = DoorLink(SETTINGS, session=SESSION, now=0.0)
    (hello,) = mcu.read(link)
    assert isinstance(hello, P.Hello) and hello.role == P.ROLE_HOST and hello.boot_count == SESSION


def hellos(messages: list[P.Message]) -> int:
    return sum(isinstance(m, P.Hello) for m in messages)


def test_the_hello_is_repeated_until_the_mcu_answers_and_shows_a_session(mcu):
    link = DoorLink(SETTINGS, session=SESSION, now=0.0)
    mcu.read(link)
    link.tick(0.6)
    assert hellos(mcu.read(link)) == 1  # our HELLO was lost: again
    link.receive_data(mcu.hello() + mcu.status(flags=P.SF_SESSION), now=0.7)
    assert hellos(mcu.read(link)) == 1  # a new boot to us: we answer its HELLO once more
    link.receive_data(mcu.hello() + mcu.status(flags=P.SF_SESSION), now=0.75)
    link.tick(1.5)
    assert hellos(mcu.read(link)) == 0


def test_a_session_flag_without_an_answer_to_our_hello_is_not_trusted(mcu):
    """The MCU still holds a previous host's session (our HELLO was lost): its STATUS says SESSION anyway."""
    link = DoorLink(SETTINGS, session=SESSION, now=0.0)
    link.receive_data(mcu.hello() + mcu.status(flags=P.SF_SESSION), now=0.01)
    mcu.read(link)  # our answer to its HELLO is lost on the way
    link.receive_data(mcu.status(flags=P.SF_SESSION), now=0.3)
    link.tick(0.6)
    assert hellos(mcu.read(link)) == 1


def test_meeting_the_mcu_reports_its_firmware_and_door_positions(mcu):
    link = DoorLink(SETTINGS, session=SESSION, now=0.0)
    link.receive_data(mcu.hello() + mcu.status(entry=P.POS_OPEN), now=0.01)
    assert link.firmware == "1.2.3" and link.link_up
    assert link.next_notices() == [McuHello("1.2.3", 7, "soft", restarted=False)]
    assert link.next_events() == [
        DoorStateChanged(Door.ENTRY, DoorPosition.OPEN),
        DoorStateChanged(Door.EXIT, DoorPosition.CLOSED),
    ]


# --- commands, acknowledgements and retries -----------------------------------------------------------------


def test_a_command_goes_out_with_a_sequence_number_and_its_ack_closes_it(link, mcu):
    seq = link.send_command(Door.ENTRY, DoorOp.OPEN, now=1.0)
    (command,) = commands(mcu.read(link))
    assert (command.op, command.door, command.seq) == (P.OP_OPEN, P.DOOR_ENTRY, seq)
    link.receive_data(mcu.frame(P.Ack(seq)), now=1.003)
    assert link.in_flight == 0 and link.counters.acks == 1
    assert link.latency_percentiles()["ack_p50_ms"] == pytest.approx(3.0)
    link.tick(1.5)
    assert commands(mcu.read(link)) == []  # nothing resent


def test_an_unanswered_command_is_resent_with_the_same_number(link, mcu):
    seq = link.send_command(Door.EXIT, DoorOp.LOCK, now=1.0)
    mcu.read(link)
    link.tick(1.05)
    assert commands(mcu.read(link)) == []  # not yet
    link.tick(1.1)
    (retry,) = commands(mcu.read(link))
    assert retry.seq == seq and retry.op == P.OP_LOCK
    link.receive_data(mcu.frame(P.Ack(seq)), now=1.12)
    assert link.in_flight == 0 and link.counters.retries == 1


def test_after_the_last_retry_the_door_is_reported_faulty(link, mcu):
    link.send_command(Door.EXIT, DoorOp.CLOSE, now=1.0)
    mcu.read(link)
    sent = 1
    t = 1.0
    while link.in_flight:
        t += 0.1
        link.receive_data(mcu.status(), now=t)  # the MCU is alive, it just never answers
        link.tick(t)
        sent += len(commands(mcu.read(link)))
    assert sent == 1 + SETTINGS.retries
    assert DoorFault(Door.EXIT, "command_not_acknowledged") in link.next_events()
    assert link.next_notices() == [CommandUnacknowledged(Door.EXIT, DoorOp.CLOSE, 1 + SETTINGS.retries)]


def test_a_duplicate_ack_changes_nothing(link, mcu):
    seq = link.send_command(Door.ENTRY, DoorOp.OPEN, now=1.0)
    link.tick(1.1)  # retried: the MCU will answer both copies
    link.receive_data(mcu.frame(P.Ack(seq)) + mcu.frame(P.Ack(seq)), now=1.11)
    assert link.counters.acks == 1 and link.counters.stray_answers == 1
    assert link.next_events() == []


def test_a_newer_command_for_the_same_door_supersedes_the_one_in_flight(link, mcu):
    first = link.send_command(Door.ENTRY, DoorOp.OPEN, now=1.0)
    second = link.send_command(Door.ENTRY, DoorOp.LOCK, now=1.01)
    mcu.read(link)
    link.receive_data(mcu.frame(P.Ack(first)), now=1.02)  # late answer to the superseded one
    assert link.in_flight == 1
    link.tick(1.12)
    (retry,) = commands(mcu.read(link))
    assert retry.seq == second and retry.op == P.OP_LOCK


def test_a_refusal_because_of_fire_is_noted_but_is_no_door_fault(link, mcu):
    seq = link.send_command(Door.ENTRY, DoorOp.CLOSE, now=1.0)
    mcu.read(link)
    link.receive_data(mcu.frame(P.Nack(seq, P.NACK_FIRE_ACTIVE)), now=1.01)
    assert link.next_events() == []
    assert link.next_notices() == [CommandRefused(Door.ENTRY, DoorOp.CLOSE, "fire_active")]
    link.tick(1.5)
    assert commands(mcu.read(link)) == []  # not retried: the MCU has said no


def test_a_refusal_the_gate_cannot_work_around_is_a_door_fault(link, mcu):
    seq = link.send_command(Door.EXIT, DoorOp.LOCK, now=1.0)
    link.receive_data(mcu.frame(P.Nack(seq, P.NACK_BAD_DOOR)), now=1.01)
    assert link.next_events() == [DoorFault(Door.EXIT, "command_refused_bad_door")]


def test_no_session_makes_the_host_say_hello_and_ask_again_under_a_new_number(link, mcu):
    seq = link.send_command(Door.ENTRY, DoorOp.OPEN, now=1.0)
    mcu.read(link)
    link.receive_data(mcu.frame(P.Nack(seq, P.NACK_NO_SESSION)), now=1.01)
    hello, command = mcu.read(link)
    assert isinstance(hello, P.Hello) and hello.boot_count == SESSION
    assert command.op == P.OP_OPEN and command.seq != seq
    assert link.next_events() == []


# --- heartbeat and link loss --------------------------------------------------------------------------------


def test_an_idle_host_sends_a_heartbeat_every_period_and_only_then(link, mcu):
    sent_at: list[float] = []
    t = 1.0
    while t < 3.0:
        t = round(t + 0.01, 2)
        if round(t * 100) % 25 == 0:
            link.receive_data(mcu.status(), now=t)  # the MCU's own periodic STATUS
        link.tick(t)
        if any(isinstance(m, P.Heartbeat) for m in mcu.read(link)):
            sent_at.append(t)
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert len(sent_at) >= 7 and all(gap == pytest.approx(SETTINGS.heartbeat_s, abs=0.011) for gap in gaps)


def test_anything_else_sent_counts_as_a_heartbeat(link, mcu):
    link.tick(1.0)
    mcu.read(link)
    seq = link.send_command(Door.ENTRY, DoorOp.OPEN, now=1.2)
    link.receive_data(mcu.frame(P.Ack(seq)), now=1.21)
    mcu.read(link)
    link.tick(1.3)  # 0.3 s after the last heartbeat but only 0.1 s after the command
    assert mcu.read(link) == []
    assert link.next_deadline() == pytest.approx(1.2 + SETTINGS.heartbeat_s)


def test_silence_from_the_mcu_loses_the_link_once_and_a_frame_restores_it(link, mcu):
    seq = link.send_command(Door.ENTRY, DoorOp.LOCK, now=1.0)
    link.receive_data(mcu.frame(P.Ack(seq)), now=1.01)
    mcu.read(link)
    link.tick(2.0)
    assert link.next_events() == []
    link.tick(1.01 + SETTINGS.link_timeout_s)
    link.tick(3.0)
    assert link.next_events() == [LinkLost()] and not link.link_up
    link.receive_data(mcu.status(), now=3.5)
    assert link.next_events() == [
        LinkRestored(),
        DoorStateChanged(Door.ENTRY, DoorPosition.CLOSED),  # positions are reported afresh
        DoorStateChanged(Door.EXIT, DoorPosition.CLOSED),
    ]
    # what the gate last asked for is asked again (the MCU may have gone to its safe state)
    (again,) = commands(mcu.read(link))
    assert (again.op, again.door) == (P.OP_LOCK, P.DOOR_ENTRY)


def test_an_mcu_that_says_it_does_not_hear_us_for_the_timeout_is_a_lost_link(link, mcu):
    """A one-way failure (our transmit line): the MCU still talks, but its watchdog has applied the safe state."""
    seq = link.send_command(Door.EXIT, DoorOp.LOCK, now=1.0)
    link.receive_data(mcu.frame(P.Ack(seq)), now=1.01)
    deaf = P.SF_SESSION  # LINK_OK missing
    t = 1.0
    while t < 2.25:  # deaf from 1.25 s on
        t = round(t + 0.25, 2)
        link.receive_data(mcu.status(flags=deaf), now=t)
        link.tick(t)
    events = link.next_events()
    assert events[0] == LinkLost() and events.count(LinkLost()) == 1 and not link.link_up
    assert all(isinstance(e, DoorStateChanged) for e in events[1:])  # the doors, as the MCU still reports them
    assert LinkDown("mcu_deaf") in link.next_notices()
    mcu.read(link)
    link.receive_data(mcu.status(), now=2.3)  # it hears us again
    assert link.next_events()[0] == LinkRestored()
    (again,) = commands(mcu.read(link))
    assert (again.op, again.door) == (P.OP_LOCK, P.DOOR_EXIT)


def test_a_moment_of_deafness_shorter_than_the_timeout_is_no_loss(link, mcu):
    link.receive_data(mcu.status(flags=P.SF_SESSION), now=1.0)
    link.tick(1.5)
    link.receive_data(mcu.status(), now=1.6)
    link.tick(2.5)
    link.receive_data(mcu.status(), now=2.5)
    assert LinkLost() not in link.next_events()


def test_the_link_is_lost_if_the_mcu_never_answers_at_all():
    link = DoorLink(SETTINGS, session=SESSION, now=0.0)
    link.tick(0.99)
    assert link.next_events() == []
    link.tick(1.0)
    assert link.next_events() == [LinkLost()]


def test_our_own_frames_echoed_back_do_not_keep_the_link_alive(mcu):
    link = DoorLink(SETTINGS, session=SESSION, now=0.0)
    t = 0.0
    while t < 1.5:
        t += 0.05
        link.tick(t)
        link.receive_data(link.data_to_send(), now=t)  # a loopback plug
    assert link.next_events() == [LinkLost()]
    assert link.counters.unexpected_frames > 0 and link.counters.frames_ok == 0


# --- MCU reset ----------------------------------------------------------------------------------------------


def test_a_new_boot_counter_makes_the_host_resynchronise(link, mcu):
    link.send_command(Door.ENTRY, DoorOp.OPEN, now=1.0)
    link.send_command(Door.EXIT, DoorOp.LOCK, now=1.0)
    for c in commands(mcu.read(link)):
        link.receive_data(mcu.frame(P.Ack(c.seq)), now=1.01)
    link.receive_data(mcu.event(P.EV_ENTRY_PASSAGE), now=1.2)
    old_event_seq = mcu.seq
    mcu.read(link)
    link.next_events()

    # The MCU resets: its numbers start again, and its safe state has moved the doors.
    mcu.seq = 0
    mcu.boot = 8
    link.receive_data(mcu.hello(), now=2.0)
    assert link.next_notices() == [McuHello("1.2.3", 8, "soft", restarted=True)]
    sent = mcu.read(link)
    assert isinstance(sent[0], P.Hello) and sent[0].boot_count == SESSION
    assert {(c.op, c.door) for c in commands(sent)} == {(P.OP_OPEN, P.DOOR_ENTRY), (P.OP_LOCK, P.DOOR_EXIT)}
    assert link.counters.mcu_restarts == 1

    # Its low sequence numbers are new again: a STATUS and an event with an old number are acted on.
    mcu.seq = old_event_seq - 2
    link.receive_data(mcu.status(entry=P.POS_OPENING) + mcu.event(P.EV_COMPARTMENT_OCCUPIED), now=2.1)
    assert link.next_events() == [DoorStateChanged(Door.ENTRY, DoorPosition.OPENING), CompartmentOccupied()]


def test_the_mcu_answering_our_hello_with_the_same_boot_counter_is_no_reset(link, mcu):
    link.receive_data(mcu.hello(), now=1.0)
    assert link.next_notices() == [] and commands(mcu.read(link)) == []
    assert link.counters.mcu_restarts == 0


def test_after_the_port_is_reopened_a_board_whose_numbers_started_again_is_believed(link, mcu):
    link.receive_data(mcu.status(entry=P.POS_OPEN), now=1.0)
    link.next_events()
    link.port_reopened(now=1.5)  # unplugged, and a replacement board with the same boot counter plugged in
    hello = next(m for m in mcu.read(link) if isinstance(m, P.Hello))
    assert hello.boot_count == SESSION
    fresh = Mcu()
    link.receive_data(fresh.hello() + fresh.status(entry=P.POS_CLOSED), now=1.6)
    assert link.next_events() == [DoorStateChanged(Door.ENTRY, DoorPosition.CLOSED)]


# --- status and events --------------------------------------------------------------------------------------


def test_door_positions_are_reported_on_change_only(link, mcu):
    link.receive_data(mcu.status(entry=P.POS_OPENING) + mcu.status(entry=P.POS_OPENING), now=1.0)
    link.receive_data(mcu.status(entry=P.POS_OPEN, exit=P.POS_STOPPED), now=1.1)
    assert link.next_events() == [
        DoorStateChanged(Door.ENTRY, DoorPosition.OPENING),
        DoorStateChanged(Door.ENTRY, DoorPosition.OPEN),
        DoorStateChanged(Door.EXIT, DoorPosition.UNKNOWN),
    ]


def test_a_replayed_status_is_dropped(link, mcu):
    old = mcu.status(entry=P.POS_OPEN)
    link.receive_data(old + mcu.status(entry=P.POS_CLOSING), now=1.0)
    link.next_events()
    link.receive_data(old, now=1.1)
    assert link.next_events() == [] and link.counters.stale_status == 1


def test_fire_is_reported_once_whether_status_or_event_says_it_first(link, mcu):
    on, off = P.SF_SESSION | P.SF_LINK_OK | P.SF_FIRE, P.SF_SESSION | P.SF_LINK_OK
    link.receive_data(mcu.event(P.EV_FIRE_ON) + mcu.status(flags=on), now=1.0)
    link.receive_data(mcu.status(flags=off) + mcu.event(P.EV_FIRE_OFF), now=1.5)
    assert link.next_events() == [FireAlarmOn(), FireAlarmOff()]


def test_passage_events_are_acknowledged_and_mapped_to_gate_events(link, mcu):
    link.receive_data(mcu.event(P.EV_ENTRY_PASSAGE), now=1.0)
    seq = mcu.seq
    link.receive_data(mcu.event(P.EV_MORE_THAN_ONE, detail=2), now=1.01)
    assert link.next_events() == [EntryPassage(), MoreThanOnePerson(sensor=Sensor.BEAMS)]
    acks = [m.acked_seq for m in mcu.read(link) if isinstance(m, P.Ack)]
    assert acks == [seq, seq + 1]


def test_a_resent_event_is_acknowledged_again_but_acted_on_once(link, mcu):
    frame = mcu.event(P.EV_ENTRY_PASSAGE)
    link.receive_data(frame + frame + frame, now=1.0)
    assert link.next_events() == [EntryPassage()]
    assert sum(isinstance(m, P.Ack) for m in mcu.read(link)) == 3
    assert link.counters.duplicate_events == 2


def test_an_event_older_than_the_window_is_neither_acted_on_nor_acknowledged(link, mcu):
    replay = mcu.event(P.EV_ENTRY_PASSAGE)
    for _ in range(40):
        link.receive_data(mcu.event(P.EV_COMPARTMENT_OCCUPIED), now=1.0)
    link.next_events()
    mcu.read(link)
    link.receive_data(replay, now=1.1)
    assert link.next_events() == [] and mcu.read(link) == []
    assert link.counters.stale_events == 1


def test_door_faults_are_reported_once_from_status_or_event(link, mcu):
    link.receive_data(mcu.event(P.EV_DOOR_FAULT, P.DOOR_EXIT, P.FAULT_TIMEOUT), now=1.0)
    link.receive_data(mcu.status(faults=(0, P.FAULT_TIMEOUT)), now=1.1)
    assert link.next_events() == [DoorFault(Door.EXIT, "motion_timeout")]


def test_events_without_a_gate_event_become_notices(link, mcu):
    link.receive_data(mcu.event(P.EV_OBSTRUCTION, P.DOOR_ENTRY, P.OBSTRUCTION_BEAM), now=1.0)
    assert link.next_events() == []
    assert link.next_notices() == [SensorNotice("obstruction", "entry", 1)]


# --- noise --------------------------------------------------------------------------------------------------


def test_noise_and_corrupt_frames_are_counted_and_never_acted_on(link, mcu):
    rng = random.Random(5)
    good = mcu.event(P.EV_ENTRY_PASSAGE)
    corrupt = bytearray(good)
    corrupt[5] ^= 0x40
    truncated = good[:-4] + b"\x00"
    noise = bytes(rng.randrange(256) for _ in range(500))
    link.receive_data(noise + bytes(corrupt) + truncated, now=1.0)
    assert link.next_events() == []
    assert sum(link.counters.frame_errors.values()) > 0
    assert not any(isinstance(m, (P.Command, P.Ack)) for m in mcu.read(link))
    # the stream resynchronises: the next good frame is understood
    link.receive_data(mcu.event(P.EV_EXIT_PASSAGE), now=1.1)
    assert [type(e).__name__ for e in link.next_events()] == ["ExitPassage"]


def test_frames_of_another_protocol_version_are_dropped_and_the_version_noted(mcu):
    link = DoorLink(SETTINGS, session=SESSION, now=0.0)
    frame = bytearray(P.encode_payload(P.Hello(P.ROLE_MCU, 2, 2, 0, 0, 9, 0)))
    frame[0] = 2  # a version-2 firmware
    frame[-2:] = P.crc16(frame[:-2]).to_bytes(2, "big")
    link.receive_data(b"\x00" + P.cobs_encode(bytes(frame)) + b"\x00", now=0.1)
    assert link.peer_protocol == 2 and link.firmware is None and not link.link_up


@settings(max_examples=300, deadline=None)
@given(noise=st.lists(st.binary(max_size=80), max_size=20))
def test_no_byte_sequence_makes_the_link_raise_or_invent_an_event(noise):
    mcu = Mcu()
    link = DoorLink(SETTINGS, session=SESSION, now=0.0)
    link.receive_data(mcu.hello() + mcu.status(), now=0.01)
    link.next_events()
    for i, chunk in enumerate(noise):
        link.receive_data(chunk, now=0.02 + i * 0.001)
    assert link.next_events() == []
    assert not any(isinstance(m, P.Command) for m in P.Decoder().feed(link.data_to_send()))
    # and a good frame after the noise is still understood
    link.receive_data(b"\x00" + mcu.event(P.EV_ENTRY_PASSAGE), now=0.5)
    assert link.next_events() == [EntryPassage()]
