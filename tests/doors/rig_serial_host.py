"""A raw-frame host over a real serial port (pyserial on the rig's pty), single-threaded and explicit.

Used by the firmware-in-the-loop tests of the rig itself (test_rig_*.py); the daemon's own adapter is tested
in test_link_*.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import serial

from firmware import protocol as P


class SerialHost:
    def __init__(self, port: str, session: int = 0xC0FFEE) -> None:
        self.serial = serial.Serial(port, 115200, timeout=0)
        self.session = session
        self.seq = 1
        self.decoder = P.Decoder()
        self.received: list[Any] = []
        self.events: list[P.Event] = []
        self.heartbeats = True
        self.ack_events = True
        self.noise: Callable[[bytes], bytes] | None = None  # applied to everything the host writes
        self._window = P.SeqWindow()
        self._last_heartbeat = 0.0

    def close(self) -> None:
        self.serial.close()

    # --- sending ------------------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        self.serial.write(self.noise(data) if self.noise else data)

    def send(self, message: P.Message) -> int:
        if not message.seq:
            message.seq = self.seq
            self.seq = P.next_seq(self.seq)
        self.write(P.encode(message))
        return message.seq

    def hello(self) -> None:
        self.send(P.Hello(P.ROLE_HOST, boot_count=self.session))
        self.wait_for(lambda f: isinstance(f, P.Hello), what="the MCU's HELLO")

    def command(self, op: int, door: int = P.DOOR_ALL, arg: int = 0, seq: int = 0, timeout: float = 2.0) -> Any:
        """Send a command (retrying with the same seq every 100 ms) and return its ACK/NACK."""
        message = P.Command(op, door, arg, seq=seq)
        seq = self.send(message)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.wait_for(
                lambda f: isinstance(f, P.Ack | P.Nack) and f.acked_seq == seq, timeout=0.1, what="", required=False
            )
            if answer is not None:
                return answer
            self.write(P.encode(message))
        raise TimeoutError(f"no answer to command seq {seq}")

    # --- receiving ----------------------------------------------------------------------------------------

    def pump(self) -> list[Any]:
        now = time.monotonic()
        if self.heartbeats and now - self._last_heartbeat >= 0.1:
            self._last_heartbeat = now
            self.send(P.Heartbeat())
        fresh = []
        data = self.serial.read(self.serial.in_waiting or 1)
        for frame in self.decoder.feed(data):
            if isinstance(frame, P.ProtocolError):
                continue
            self.received.append(frame)
            fresh.append(frame)
            if isinstance(frame, P.Hello):
                self._window.reset()
            if isinstance(frame, P.Event):
                verdict, _ = self._window.check(frame.seq)
                if verdict == P.NEW:
                    self._window.record(frame.seq, True)
                    self.events.append(frame)
                if self.ack_events:
                    self.send(P.Ack(frame.seq))
        if not data:
            time.sleep(0.002)
        return fresh

    def wait_for(
        self, predicate: Callable[[Any], bool], *, timeout: float = 5.0, what: str, required: bool = True
    ) -> Any:
        """Pump until a frame received from now on matches; return it (None if not `required`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.pump():
                if predicate(frame):
                    return frame
        if required:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        return None

    def wait_status(self, predicate: Callable[[P.Status], bool], *, timeout: float = 5.0, what: str) -> P.Status:
        return self.wait_for(lambda f: isinstance(f, P.Status) and predicate(f), timeout=timeout, what=what)

    def wait_event(self, code: int, *, timeout: float = 5.0) -> P.Event:
        for event in self.events:
            if event.code == code:
                return event
        return self.wait_for(
            lambda f: isinstance(f, P.Event) and f.code == code, timeout=timeout, what=P.EV_NAMES[code]
        )

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump()
