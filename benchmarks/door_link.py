"""Door link figures over a real pty: command-to-ACK latency, and host silence to the firmware's safe state.

    .venv/bin/python benchmarks/door_link.py [--commands 1000] [--silences 5]

The door rig (simulators/doors/rig.py: the real firmware logic in real time) sits behind a pseudo-terminal;
this script is the host, with pyserial and raw protocol frames, one command in flight at a time.
Goals (issue #5): p95 <= 5 ms; safe state <= 1.2 s after the host falls silent.
"""

from __future__ import annotations

import argparse
import os
import platform
import select
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import serial

from firmware import protocol as P
from simulators.doors.rig import DoorRig


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class Host:
    def __init__(self, port: str) -> None:
        self.serial = serial.Serial(port, 115200, timeout=0)
        self.decoder = P.Decoder()
        self.seq = 1

    def send(self, message: P.Message) -> int:
        message.seq = self.seq
        self.seq = P.next_seq(self.seq)
        self.serial.write(P.encode(message))
        return message.seq

    def frames(self, timeout: float) -> list:
        ready, _, _ = select.select([self.serial.fileno()], [], [], timeout)
        if not ready:
            return []
        out = []
        for item in self.decoder.feed(self.serial.read(self.serial.in_waiting or 1)):
            if isinstance(item, P.Event):
                self.send(P.Ack(item.seq))
            if not isinstance(item, P.ProtocolError):
                out.append(item)
        return out

    def until(self, predicate, timeout: float = 5.0):
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for frame in self.frames(0.05):
                if predicate(frame):
                    return frame
        raise TimeoutError("no answer")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--silences", type=int, default=5)
    args = parser.parse_args()

    machine = f"{platform.platform()}; CPU: {cpu_model()}; cores: {os.cpu_count()}"
    print(f"machine: {machine}; Python {platform.python_version()}")
    with DoorRig() as rig:
        host = Host(rig.port)
        host.send(P.Hello(P.ROLE_HOST, boot_count=0xBE4C))
        host.until(lambda f: isinstance(f, P.Hello))

        latencies = []
        for _ in range(args.commands):
            start = time.perf_counter()
            seq = host.send(P.Command(P.OP_REQUEST_STATUS))
            host.until(lambda f, seq=seq: isinstance(f, P.Ack | P.Nack) and f.acked_seq == seq)
            latencies.append((time.perf_counter() - start) * 1000)
        print(
            f"command -> ACK over the pty, {len(latencies)} commands: p50 {percentile(latencies, 50):.2f} ms, "
            f"p95 {percentile(latencies, 95):.2f} ms, p99 {percentile(latencies, 99):.2f} ms, "
            f"max {max(latencies):.2f} ms (goal p95 <= 5 ms)"
        )

        wall, firmware = [], []
        for _ in range(args.silences):
            host.send(P.Command(P.OP_OPEN, P.DOOR_ALL))
            last_word = time.perf_counter()
            for _ in range(5):  # alive for half a second, then silent
                host.send(P.Heartbeat())
                last_word = time.perf_counter()
                host.frames(0.1)
            with rig.lock:
                last_rx_ms = rig.sim.controller.last_rx
            status = host.until(lambda f: isinstance(f, P.Status) and f.flags & P.SF_SAFE_STATE, timeout=5)
            wall.append(time.perf_counter() - last_word)
            firmware.append((status.uptime_ms - last_rx_ms) / 1000)
            host.send(P.Heartbeat())  # back again
            host.frames(0.2)
        print(
            f"host silence -> safe state, {args.silences} runs: firmware clock mean {statistics.mean(firmware):.3f} s "
            f"(max {max(firmware):.3f} s); host sees it after mean {statistics.mean(wall):.3f} s "
            f"(max {max(wall):.3f} s) (goal <= 1.2 s; link timeout {rig.sim.cfg.LINK_TIMEOUT_MS} ms)"
        )
        host.serial.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
