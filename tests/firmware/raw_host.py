"""A minimal host for talking to the firmware running in DoorSim: raw protocol frames, simulated time."""

from __future__ import annotations

from typing import Any

from firmware import protocol as P
from simulators.doors.sim import DoorSim


class RawHost:
    """Speaks the protocol to a DoorSim directly (no pty): HELLO, commands, heartbeats, event ACKs."""

    def __init__(self, sim: DoorSim, session: int = 0x5E55) -> None:
        self.sim = sim
        self.session = session
        self.seq = 100
        self.received: list[Any] = []  # every frame the firmware sent, in order
        self.events: list[P.Event] = []  # events, duplicates removed, each acknowledged
        self._event_window = P.SeqWindow()

    def send(self, message: P.Message) -> int:
        if not message.seq:
            message.seq = self.seq
            self.seq = P.next_seq(self.seq)
        self.sim.receive(P.encode(message))
        self.pump()
        return message.seq

    def hello(self) -> None:
        self.send(P.Hello(P.ROLE_HOST, boot_count=self.session))

    def command(self, op: int, door: int = P.DOOR_ALL, arg: int = 0, seq: int = 0) -> P.Message:
        """Send a command and return the ACK/NACK answering it (the firmware answers at once)."""
        seq = self.send(P.Command(op, door, arg, seq=seq))
        for frame in reversed(self.received):
            if isinstance(frame, P.Ack | P.Nack) and frame.acked_seq == seq:
                return frame
        raise AssertionError(f"no answer to command seq {seq}")

    def pump(self, ack: bool = True) -> None:
        """Read what the firmware sent; acknowledge events unless told to stay silent."""
        for frame in self.sim.frames():
            self.received.append(frame)
            if isinstance(frame, P.Hello):
                self._event_window.reset()  # a new boot: its event numbers start again
            if isinstance(frame, P.Event):
                verdict, _ = self._event_window.check(frame.seq)
                if verdict == P.NEW:
                    self._event_window.record(frame.seq, True)
                    self.events.append(frame)
                if ack:
                    self.sim.receive(P.encode(P.Ack(frame.seq, seq=self._next())))

    def _next(self) -> int:
        self.seq = P.next_seq(self.seq)
        return self.seq

    def run(self, ms: int, heartbeat: bool = True) -> None:
        """Let simulated time pass, sending heartbeats every 100 ms and acknowledging events, or (heartbeat=False)
        staying completely silent."""
        step = 10
        for elapsed in range(0, ms, step):
            if heartbeat and elapsed % 100 == 0:
                self.send(P.Heartbeat())
            self.sim.advance(step)
            self.pump(ack=heartbeat)

    def status(self) -> P.Status:
        statuses = [f for f in self.received if isinstance(f, P.Status)]
        assert statuses, "no STATUS received"
        return statuses[-1]

    def event_names(self) -> list[str]:
        return [event.name for event in self.events]
