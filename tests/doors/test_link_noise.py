"""A noisy line between the host adapter and the real firmware never moves a door wrongly, and the link recovers.

The noise sits in the pty path (door_rig.NoisyCable) in both directions: a 1% byte error rate, bursts of
random bytes, truncated chunks (truncated frames) and replays of earlier, valid chunks (old sequence
numbers: commands, ACKs, STATUS, events). The host keeps moving both doors through a fixed plan; the
firmware's per-tick trace must show every motor drive agreeing with the command the host has had
acknowledged, and every door ending where it was sent.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
from collections.abc import Callable

import pytest
from door_rig import Host, NoisyCable, Rig, with_host

from edge.gate.actions import DoorOp
from edge.gate.events import Door, DoorFault, DoorPosition, LinkLost
from firmware import protocol as P

INDEX = {Door.ENTRY: P.DOOR_ENTRY, Door.EXIT: P.DOOR_EXIT}
DIRECTION = {DoorOp.OPEN: 1, DoorOp.LOCK: -1}
REACHED = {DoorOp.OPEN: DoorPosition.OPEN, DoorOp.LOCK: DoorPosition.CLOSED}


class LineNoise:
    """Damage a stream chunk by chunk: byte errors, noise bursts, truncation, replays of old chunks."""

    def __init__(self, seed: int, error_rate: float = 0.01, burst: float = 0.1, truncate: float = 0.05,
                 replay: float = 0.25) -> None:  # fmt: skip
        self.rng = random.Random(seed)
        self.error_rate, self.burst, self.truncate, self.replay = error_rate, burst, truncate, replay
        self.history: collections.deque[bytes] = collections.deque(maxlen=1000)
        self.enabled = True
        self.counts: collections.Counter[str] = collections.Counter()
        self._injections: list[bytes] = []

    def inject(self, data: bytes) -> None:
        """Put `data` on the line in front of the next chunk (noise on demand)."""
        self._injections.append(data)

    def old_frame(self, wanted: Callable[[P.Message], bool]) -> bytes:
        """The earliest valid frame that went through this direction and matches `wanted`, as it was sent."""
        for chunk in list(self.history):
            for message in P.Decoder().feed(chunk):
                if isinstance(message, P.Message) and wanted(message):
                    return P.encode(message)
        raise AssertionError("no such frame went by")

    def __call__(self, data: bytes) -> bytes:
        out = bytearray()
        while self._injections:
            out += self._injections.pop(0)
            self.counts["injected"] += 1
        if not self.enabled:
            return bytes(out + data)
        rng = self.rng
        if self.history and rng.random() < self.replay:
            out += rng.choice(self.history)  # valid frames with old sequence numbers
            self.counts["replays"] += 1
        if rng.random() < self.burst:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 60)))
            self.counts["bursts"] += 1
        body = bytearray(data)
        for i in range(len(body)):
            if rng.random() < self.error_rate:
                body[i] ^= 1 << rng.randrange(8)
                self.counts["byte_errors"] += 1
        if len(body) > 1 and rng.random() < self.truncate:
            body = body[: rng.randrange(1, len(body))]
            self.counts["truncations"] += 1
        self.history.append(bytes(data))
        return bytes(out + body)


@pytest.fixture
def noisy():
    rig = Rig().start()
    seed = int(os.environ.get("NOISE_SEED", "11"))
    to_mcu, to_host = LineNoise(seed=seed), LineNoise(seed=seed + 1)
    cable = NoisyCable(rig.path, to_mcu, to_host).start()
    yield rig, cable, to_mcu, to_host
    cable.stop()
    rig.stop()


def test_a_noisy_link_never_moves_a_door_wrongly_and_recovers(noisy):
    rig, cable, to_mcu, to_host = noisy
    plan = [(door, op) for op in (DoorOp.LOCK, DoorOp.OPEN, DoorOp.LOCK) for door in Door]
    # per door: (sim ms from which the op is acknowledged, sim ms until which it holds, op)
    windows: dict[Door, list[list]] = {door: [] for door in Door}

    async def settle(host: Host, door: Door, op: DoorOp) -> None:
        await host.until(
            lambda: host.doors.link.in_flight == 0
            and host.doors.link.positions.get(door) is REACHED[op]
            and rig.call(lambda sim: sim.door_position(INDEX[door])) == (1.0 if op is DoorOp.OPEN else 0.0),
            timeout=10,
            what=f"{door} {op} under noise",
        )

    async def scenario(host: Host) -> None:
        await host.connected()
        for door, op in plan:
            if windows[door]:
                windows[door][-1][1] = rig.now_ms()  # the previous op holds until this command
            host.doors.command(door, op)
            await host.until(lambda: host.doors.link.in_flight == 0, timeout=10, what="ACK under noise")
            windows[door].append([rig.now_ms(), None, op])
            await settle(host, door, op)
            await asyncio.sleep(0.2)  # dwell: give replays time to do harm

        # Both doors are locked. Replay an old "open the entry" command to the MCU and an old STATUS that
        # says "entry open" to the host, with a noise burst and a truncated frame: nothing may move or change.
        host.events.clear()
        errors = sum(host.doors.link.counters.frame_errors.values())
        to_mcu.inject(to_mcu.old_frame(lambda m: isinstance(m, P.Command) and m.op == P.OP_OPEN and m.door == 0))
        to_mcu.inject(bytes(range(1, 40)) + b"\x00")
        to_host.inject(to_host.old_frame(lambda m: isinstance(m, P.Status) and m.doors[0].position == P.POS_OPEN))
        to_host.inject(P.encode(P.Status(seq=1))[:-6] + b"\x00")
        await host.until(lambda: to_mcu.counts["injected"] == 2 and to_host.counts["injected"] == 2, what="sent")
        await asyncio.sleep(0.5)
        assert host.events == [] and host.doors.link.positions[Door.ENTRY] is DoorPosition.CLOSED
        assert host.doors.link.counters.stale_status >= 1
        assert sum(host.doors.link.counters.frame_errors.values()) > errors
        for door in Door:
            windows[door][-1][1] = rig.now_ms()

        # The noise stops: the link is healthy again and answers at once.
        to_mcu.enabled = to_host.enabled = False
        await asyncio.sleep(0.3)
        retries = host.doors.link.counters.retries
        for door in Door:
            host.doors.command(door, DoorOp.OPEN)
            await settle(host, door, DoorOp.OPEN)
        assert host.doors.link.counters.retries == retries
        assert host.doors.health().ok

    host = with_host(rig, scenario, port=cable.path)

    # Every motor drive agreed with the acknowledged command of its time (the MCU answers a command as it
    # arrives and acts on it at its next control tick: allow two ticks).
    grace = 2 * rig.sim.cfg.TICK_MS
    for door, spans in windows.items():
        for start, end, op in spans:
            drives = rig.drives(INDEX[door], since_ms=start + grace)
            wrong = [d for d in drives if d.now_ms <= end and d.direction not in (0, DIRECTION[op])]
            assert wrong == [], f"{door} driven against {op} between {start} and {end} ms: {wrong[:3]}"
    # The gate was never told anything false: no fault, no link loss, only real positions.
    assert not any(isinstance(e, (DoorFault, LinkLost)) for e in host.events)
    # The noise really was there, and was counted and dropped.
    assert to_mcu.counts["replays"] + to_host.counts["replays"] > 0
    assert to_mcu.counts["byte_errors"] + to_host.counts["byte_errors"] > 0
    assert host.doors.health().figures["frame_errors"] > 0
