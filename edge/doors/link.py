"""The host end of the door-controller link as a sans-I/O state machine: bytes and time in, bytes and events out.

    link = DoorLink(settings, session=random_u32, now=t)
    link.send_command(Door.ENTRY, DoorOp.OPEN, now=t)
    port.write(link.data_to_send())
    link.receive_data(port.read(), now=t)     # any chunking, any noise
    link.tick(now=t)                          # at link.next_deadline() at the latest
    for event in link.next_events(): emit(event)          # edge.gate.events
    for notice in link.next_notices(): log(notice)        # link-level happenings (resync, refusals, ...)

The wire format, message types and sequence-number rules are firmware/protocol.py and PROTOCOL.md; this
module only decides *when* to send what and what the MCU's messages mean to the gate:

- Commands carry a sequence number and are resent with the same number every `ack_timeout_s`, at most
  `retries` times; the MCU answers a duplicate without acting twice. One command per door is in flight:
  a newer command for the same door supersedes the older one.
- A HEARTBEAT goes out whenever the host has sent nothing for `heartbeat_s` (the MCU's link watchdog).
- No valid frame from the MCU for `link_timeout_s`, or STATUS saying for as long that the MCU does not hear
  the host (a one-way failure: its watchdog has applied the safe state) -> LinkLost (once); the link
  working both ways again -> LinkRestored, and the door states the gate asked for are sent again.
- A HELLO with a new boot counter means the MCU restarted: the host answers with its own HELLO (opening a
  session), forgets the MCU's old sequence numbers and re-sends the door states it last asked for.
- STATUS is the truth about doors and the fire input; EVENTs (acknowledged, de-duplicated by SeqWindow)
  carry passages and occupancy. A STATUS whose seq is not newer than the last one is a replay: dropped.
- Noise, corrupt frames and frames only a host would send are counted and dropped, never acted on.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass, field

from edge.doors.settings import DoorLinkSettings
from edge.gate.actions import DoorOp
from edge.gate.events import (
    CompartmentEmpty,
    CompartmentOccupied,
    Door,
    DoorFault,
    DoorPosition,
    DoorStateChanged,
    EntryPassage,
    Event,
    ExitPassage,
    FireAlarmOff,
    FireAlarmOn,
    LinkLost,
    LinkRestored,
    MoreThanOnePerson,
    Sensor,
)
from firmware import protocol as P

log = logging.getLogger(__name__)

HELLO_RETRY_S = 0.5  # how often the host repeats its HELLO while the MCU has not confirmed a session
HOST_VERSION = (1, 0, 0)

DOOR_CODES = {Door.ENTRY: P.DOOR_ENTRY, Door.EXIT: P.DOOR_EXIT}
DOORS_BY_CODE = {code: door for door, code in DOOR_CODES.items()}
OP_CODES = {DoorOp.OPEN: P.OP_OPEN, DoorOp.CLOSE: P.OP_CLOSE, DoorOp.LOCK: P.OP_LOCK}
POSITIONS = {
    P.POS_UNKNOWN: DoorPosition.UNKNOWN,
    P.POS_CLOSED: DoorPosition.CLOSED,
    P.POS_OPENING: DoorPosition.OPENING,
    P.POS_OPEN: DoorPosition.OPEN,
    P.POS_CLOSING: DoorPosition.CLOSING,
    P.POS_STOPPED: DoorPosition.UNKNOWN,  # between the end stops, motor off: neither open nor closed
}
# MCU events with a gate event of their own; the others become notices.
SIMPLE_EVENTS: dict[int, Event] = {
    P.EV_ENTRY_PASSAGE: EntryPassage(),
    P.EV_EXIT_PASSAGE: ExitPassage(),
    P.EV_COMPARTMENT_OCCUPIED: CompartmentOccupied(),
    P.EV_COMPARTMENT_EMPTY: CompartmentEmpty(),
    P.EV_MORE_THAN_ONE: MoreThanOnePerson(sensor=Sensor.BEAMS),
}
MCU_FRAMES = (P.Hello, P.Ack, P.Nack, P.Status, P.Event)


# --- notices: what the link has to say that is not a gate event (the adapter logs them) ----------------------


@dataclass(frozen=True)
class Notice:
    pass


@dataclass(frozen=True)
class McuHello(Notice):
    """The MCU introduced itself; `restarted` when it had a different boot counter before (a reset)."""

    firmware: str
    boot_count: int
    reset_cause: str
    restarted: bool


@dataclass(frozen=True)
class LinkDown(Notice):
    """Why LinkLost was reported: "mcu_silent" (nothing valid heard) or "mcu_deaf" (the MCU says it does not
    hear the host, so its watchdog has put the doors in the safe state)."""

    reason: str


@dataclass(frozen=True)
class CommandRefused(Notice):
    door: Door
    op: DoorOp
    reason: str


@dataclass(frozen=True)
class CommandUnacknowledged(Notice):
    door: Door
    op: DoorOp
    attempts: int


@dataclass(frozen=True)
class SensorNotice(Notice):
    """An MCU event without a gate event: obstruction, object left/removed, retreat, intrusion, link timeout."""

    name: str
    door: str
    detail: int


@dataclass
class _Pending:
    door: Door
    op: DoorOp
    seq: int
    first_sent: float
    deadline: float
    attempts: int = 1  # transmissions of this seq (or of this op, across NO_SESSION / STALE_SEQ re-issues)


@dataclass
class LinkCounters:
    frames_ok: int = 0
    frame_errors: dict[str, int] = field(default_factory=lambda: collections.defaultdict(int))
    unexpected_frames: int = 0  # valid frames that only a host sends (an echoing line, our own bytes)
    commands: int = 0
    retries: int = 0
    acks: int = 0
    nacks: int = 0
    stray_answers: int = 0  # ACK/NACK for no command in flight: late answer to a retry, or a replay
    unacknowledged: int = 0
    events: int = 0
    duplicate_events: int = 0
    stale_events: int = 0
    stale_status: int = 0
    heartbeats: int = 0
    hellos_sent: int = 0
    mcu_restarts: int = 0
    links_lost: int = 0


class DoorLink:
    """See the module docstring. Not thread-safe: drive it from one thread (the adapter's event loop)."""

    def __init__(self, settings: DoorLinkSettings, *, session: int, now: float, latency_samples: int = 2000) -> None:
        self.settings = settings
        self.session = session & 0xFFFFFFFF
        self.counters = LinkCounters()
        self.ack_latencies: collections.deque[float] = collections.deque(maxlen=latency_samples)
        self.firmware: str | None = None
        self.mcu_boot: int | None = None
        self.link_up = False  # a valid MCU frame within link_timeout_s, and the MCU hears us
        self.last_status: P.Status | None = None
        self.peer_protocol: int | None = None  # set when the MCU's frames carry another protocol version
        self._decoder = P.Decoder()
        self._out = bytearray()
        self._events: list[Event] = []
        self._notices: list[Notice] = []
        # Start the host's numbers somewhere random-ish: should our new-session HELLO be lost, an old
        # number the MCU still remembers must not be taken for a duplicate of a new command.
        self._seq = (self.session * 2654435761) & P.SEQ_MASK
        self._event_window = P.SeqWindow()
        self._status_seq: int | None = None
        self._last_rx = now  # (the link-loss timer runs from the start)
        self._heard_any = False
        self._deaf_since: float | None = None  # first fresh STATUS saying the MCU does not hear us
        self._last_tx = float("-inf")
        self._lost = False
        self._pending: dict[Door, _Pending] = {}
        self._desired: dict[Door, DoorOp] = {}
        self._positions: dict[Door, DoorPosition] = {}
        self._faults: dict[Door, int] = {door: P.FAULT_NONE for door in Door}
        self._fire: bool | None = None
        self._session_confirmed = False
        self._hello_answered = False  # an MCU HELLO has come in since our last HELLO went out
        self._hello_due = now
        self._send_hello(now)

    # --- inputs -------------------------------------------------------------------------------------------

    def send_command(self, door: Door, op: DoorOp, now: float) -> int:
        """Ask the MCU to move `door`; remembered as the desired state to restore after an MCU reset."""
        self._desired[door] = op
        return self._issue(door, op, now, attempts=1, first_sent=now)

    def receive_data(self, data: bytes, now: float) -> None:
        for item in self._decoder.feed(data):
            if isinstance(item, P.ProtocolError):
                self.counters.frame_errors[item.name] += 1
                if item.code == P.E_VERSION:
                    self.peer_protocol = item.detail  # firmware and host disagree: say so in health()
            elif not isinstance(item, MCU_FRAMES) or (isinstance(item, P.Hello) and item.role != P.ROLE_MCU):
                self.counters.unexpected_frames += 1
            else:
                self.counters.frames_ok += 1
                self._last_rx = now
                self._heard_any = True
                if isinstance(item, P.Status) and self._fresh(item):
                    hears_us = bool(item.flags & P.SF_LINK_OK)
                    self._deaf_since = None if hears_us else (self._deaf_since if self._deaf_since else now)
                self._update_link(now)
                self._handle(item, now)

    def tick(self, now: float) -> None:
        """Run the timers: link timeout, command retries, HELLO repeats, heartbeat."""
        self._update_link(now)
        for pending in [p for p in self._pending.values() if now >= p.deadline]:
            self._retry(pending, now)
        if not self._session_confirmed and now >= self._hello_due:
            self._send_hello(now)
        if now - self._last_tx >= self.settings.heartbeat_s:
            self.counters.heartbeats += 1
            self._send(P.Heartbeat(), now)

    def port_reopened(self, now: float) -> None:
        """The serial port was closed and opened again (USB unplug): start the conversation afresh.

        Whatever is at the other end now may be another board, or a reflashed one whose boot counter
        started again: forget the old board's sequence numbers so that its first STATUS is not a "replay"."""
        self._decoder.reset()
        self._out.clear()
        self._session_confirmed = False
        self.mcu_boot = None
        self._status_seq = None
        self._event_window.reset()
        self._send_hello(now)
        for door, op in self._desired.items():
            self._issue(door, op, now, attempts=1, first_sent=now)

    # --- outputs ------------------------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def next_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def next_notices(self) -> list[Notice]:
        notices, self._notices = self._notices, []
        return notices

    def next_deadline(self) -> float:
        """The latest time at which tick() must run next."""
        deadlines = [self._last_tx + self.settings.heartbeat_s]
        if not self._lost:
            deadlines.append(self._last_rx + self.settings.link_timeout_s)
            if self._deaf_since is not None:
                deadlines.append(self._deaf_since + self.settings.link_timeout_s)
        if not self._session_confirmed:
            deadlines.append(self._hello_due)
        deadlines.extend(p.deadline for p in self._pending.values())
        return min(deadlines)

    @property
    def desired(self) -> dict[Door, DoorOp]:
        return dict(self._desired)

    @property
    def mcu_deaf(self) -> bool:
        """The MCU's latest STATUS says it does not hear this host."""
        return self._deaf_since is not None

    @property
    def positions(self) -> dict[Door, DoorPosition]:
        """The door positions last reported to the gate (empty until the MCU's first STATUS)."""
        return dict(self._positions)

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def latency_percentiles(self) -> dict[str, float]:
        """Command-to-ACK latency (first transmission to ACK) in milliseconds: p50, p95, max."""
        samples = sorted(self.ack_latencies)
        if not samples:
            return {}

        def pick(q: float) -> float:
            return samples[min(len(samples) - 1, int(q * len(samples)))] * 1000.0

        return {"ack_p50_ms": pick(0.50), "ack_p95_ms": pick(0.95), "ack_max_ms": samples[-1] * 1000.0}

    # --- sending ------------------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = P.next_seq(self._seq)
        return self._seq

    def _send(self, message: P.Message, now: float, seq: int | None = None) -> None:
        message.seq = self._next_seq() if seq is None else seq
        self._out += P.encode(message)
        self._last_tx = now

    def _send_hello(self, now: float) -> None:
        major, minor, patch = HOST_VERSION
        self.counters.hellos_sent += 1
        self._send(P.Hello(P.ROLE_HOST, P.VERSION, major, minor, patch, self.session, P.RESET_UNKNOWN), now)
        self._hello_answered = False
        self._hello_due = now + HELLO_RETRY_S

    def _issue(self, door: Door, op: DoorOp, now: float, *, attempts: int, first_sent: float) -> int:
        """Send `op` for `door` under a new seq (superseding any command in flight for that door)."""
        seq = self._next_seq()
        self.counters.commands += 1
        self._pending[door] = _Pending(door, op, seq, first_sent, now + self.settings.ack_timeout_s, attempts)
        self._send(P.Command(OP_CODES[op], DOOR_CODES[door]), now, seq=seq)
        return seq

    def _retry(self, pending: _Pending, now: float) -> None:
        if pending.attempts > self.settings.retries:
            del self._pending[pending.door]
            self.counters.unacknowledged += 1
            self._notices.append(CommandUnacknowledged(pending.door, pending.op, pending.attempts))
            if not self._lost:  # with the link down, LinkLost already says it all; we re-send on restore
                self._events.append(DoorFault(pending.door, "command_not_acknowledged"))
            return
        pending.attempts += 1
        pending.deadline = now + self.settings.ack_timeout_s
        self.counters.retries += 1
        self._send(P.Command(OP_CODES[pending.op], DOOR_CODES[pending.door]), now, seq=pending.seq)

    def _resend_desired(self, now: float) -> None:
        for door, op in self._desired.items():
            self._issue(door, op, now, attempts=1, first_sent=now)

    # --- receiving ----------------------------------------------------------------------------------------

    def _update_link(self, now: float) -> None:
        """The link is up while the MCU is heard within link_timeout_s and has not said, for as long, that
        it does not hear us (a one-way failure: its watchdog has applied the safe state all the same)."""
        timeout = self.settings.link_timeout_s
        silent = now - self._last_rx >= timeout
        deaf = self._deaf_since is not None and now - self._deaf_since >= timeout
        if silent or deaf:
            self.link_up = False
            if not self._lost:
                self._lose_link("mcu_silent" if silent else "mcu_deaf")
            return
        self.link_up = self._heard_any
        if self._lost and self.link_up:
            self._lost = False
            self._events.append(LinkRestored())
            # The MCU may have applied its safe state meanwhile: ask again for what the gate wants.
            self._resend_desired(now)

    def _lose_link(self, reason: str) -> None:
        self._lost = True
        self.counters.links_lost += 1
        self._positions.clear()  # report every door afresh once the link is back
        self._notices.append(LinkDown(reason))
        self._events.append(LinkLost())

    def _fresh(self, status: P.Status) -> bool:
        """Not a replay: newer than the last STATUS of this boot."""
        return self._status_seq is None or P.seq_newer(status.seq, self._status_seq)

    def _handle(self, message: P.Message, now: float) -> None:
        if isinstance(message, P.Status):
            self._on_status(message, now)
        elif isinstance(message, P.Event):
            self._on_event(message, now)
        elif isinstance(message, P.Ack):
            self._on_answer(message.acked_seq, None, now)
        elif isinstance(message, P.Nack):
            self._on_answer(message.acked_seq, message.reason, now)
        elif isinstance(message, P.Hello):
            self._on_hello(message, now)

    def _on_hello(self, hello: P.Hello, now: float) -> None:
        self.firmware = hello.version_text
        self._hello_answered = True
        if hello.boot_count == self.mcu_boot:
            return  # the MCU's answer to our HELLO, or its repeat: STATUS says whether a session is open
        restarted = self.mcu_boot is not None
        self.mcu_boot = hello.boot_count
        self._notices.append(
            McuHello(hello.version_text, hello.boot_count, P.RESET_NAMES.get(hello.reset_cause, "?"), restarted)
        )
        # A new boot: its sequence numbers start again, and it has no session with us.
        self._event_window.reset()
        self._status_seq = None
        self._session_confirmed = False
        self._send_hello(now)
        if restarted:
            self.counters.mcu_restarts += 1
            cause = P.RESET_NAMES.get(hello.reset_cause, "?")
            log.warning("door controller restarted (boot %d, %s): resynchronising", hello.boot_count, cause)
        self._resend_desired(now)

    def _on_answer(self, acked_seq: int, reason: int | None, now: float) -> None:
        pending = next((p for p in self._pending.values() if p.seq == acked_seq), None)
        if pending is None:
            self.counters.stray_answers += 1
            return
        del self._pending[pending.door]
        if reason is None:
            self.counters.acks += 1
            self.ack_latencies.append(now - pending.first_sent)
            return
        self.counters.nacks += 1
        name = P.NACK_NAMES.get(reason, str(reason))
        if reason in (P.NACK_NO_SESSION, P.NACK_STALE_SEQ) and pending.attempts <= self.settings.retries:
            # Not acted on: open a session (if needed) and ask again under a new number.
            if reason == P.NACK_NO_SESSION:
                self._session_confirmed = False
                self._send_hello(now)
            self._issue(pending.door, pending.op, now, attempts=pending.attempts + 1, first_sent=pending.first_sent)
            return
        self._notices.append(CommandRefused(pending.door, pending.op, name))
        if reason == P.NACK_FIRE_ACTIVE:
            return  # the gate knows about the fire; the doors stay open, as they must
        if reason == P.NACK_DOOR_FAULT:
            fault = self._faults.get(pending.door, P.FAULT_NONE)
            if fault != P.FAULT_NONE:
                return  # already reported from STATUS / EVENT
            name = "door_fault"
        self._events.append(DoorFault(pending.door, f"command_refused_{name}"))

    def _on_status(self, status: P.Status, now: float) -> None:
        if not self._fresh(status):
            self.counters.stale_status += 1
            return
        self._status_seq = status.seq
        self.last_status = status
        # Without a session the MCU refuses commands: tick() repeats our HELLO until the MCU has answered one
        # and STATUS shows a session. (SESSION alone could still be a previous host's session, should our
        # HELLO have been lost: the MCU's duplicate window would then hold that host's numbers.)
        self._session_confirmed = bool(status.flags & P.SF_SESSION) and self._hello_answered
        self._set_fire(status.fire)
        for door, code in DOOR_CODES.items():
            report = status.doors[code]
            position = POSITIONS[report.position]
            if self._positions.get(door) != position:
                self._positions[door] = position
                self._events.append(DoorStateChanged(door, position))
            self._set_fault(door, report.fault)

    def _on_event(self, event: P.Event, now: float) -> None:
        verdict, _ = self._event_window.check(event.seq)
        if verdict == P.STALE:
            # Older than the window: a replay, or a new boot whose HELLO we missed (its repeat will come and
            # reset the window). Neither acted on nor acknowledged, so a real event is sent again.
            self.counters.stale_events += 1
            return
        self._send(P.Ack(event.seq), now)
        if verdict == P.DUPLICATE:
            self.counters.duplicate_events += 1
            return
        self._event_window.record(event.seq, True)
        self.counters.events += 1
        simple = SIMPLE_EVENTS.get(event.code)
        if simple is not None:
            self._events.append(simple)
        elif event.code == P.EV_FIRE_ON:
            self._set_fire(True)
        elif event.code == P.EV_FIRE_OFF:
            self._set_fire(False)
        elif event.code == P.EV_DOOR_FAULT and event.door in DOORS_BY_CODE:
            self._set_fault(DOORS_BY_CODE[event.door], event.detail)
        else:
            self._notices.append(SensorNotice(event.name, P.DOOR_NAMES.get(event.door, "?"), event.detail))

    def _set_fire(self, fire: bool) -> None:
        """Fire comes in STATUS and as events: report each change once, whichever says it first."""
        if fire == bool(self._fire):
            self._fire = fire
            return
        self._fire = fire
        self._events.append(FireAlarmOn() if fire else FireAlarmOff())

    def _set_fault(self, door: Door, fault: int) -> None:
        """Report a newly latched fault once (STATUS and EVENT both carry it); a cleared one re-arms."""
        if fault == self._faults.get(door, P.FAULT_NONE):
            return
        self._faults[door] = fault
        if fault != P.FAULT_NONE:
            self._events.append(DoorFault(door, P.FAULT_NAMES.get(fault, str(fault))))
