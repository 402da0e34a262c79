"""Door link figures through the HOST ADAPTER over a real pty: command-to-ACK latency, host silence to safe state.

    .venv/bin/python benchmarks/door_link_host.py [--commands 500] [--silences 5]

The door controller is `echannel sim doors` in its own process (the real firmware logic in real time behind
a pty); the host is SerialDoorController, exactly as the daemon runs it.

- Latency: from the moment the adapter writes a COMMAND to the moment it has read the ACK (the adapter's
  own timestamps, `DoorLink.ack_latencies`), one command at a time, alternating OPEN / LOCK on both doors.
- Silence to safe state: both doors locked, then the host stops (port closed, nothing more on the line).
  Times are taken on the firmware's clock (the rig's `status`, polled every ~2 ms over its control socket)
  from the host's last frame to: the link watchdog firing (safe state applied), the entry door starting to
  open (SAFE_RETURN, after the lock bolt's release time), and the entry door fully open.
Goals: ACK p95 <= 5 ms; safe state <= 1.2 s after the host falls silent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.doors.adapter import SerialDoorController
from edge.doors.settings import DoorLinkSettings
from edge.gate.actions import DoorOp
from edge.gate.events import Door
from simulators.doors.control import RigControl
from simulators.processes import ChildProcess, wait_until


def machine_info() -> str:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{platform.platform()}, Python {platform.python_version()}, CPU {cpu}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}"
    )


def start_rig(workdir: Path) -> tuple[ChildProcess, dict]:
    echannel = str(Path(sys.executable).with_name("echannel"))
    child = ChildProcess([echannel, "sim", "doors", "--link", str(workdir / "doors")], name="bench-doors",
                         log_dir=workdir).start()  # fmt: skip
    found: dict = {}

    def announced() -> bool:
        for line in child.log_tail(50).splitlines():
            if line.startswith("{") and "control_port" in line:
                found.update(json.loads(line))
                return True
        if not child.alive():
            raise RuntimeError(f"echannel sim doors exited:\n{child.log_tail()}")
        return False

    wait_until(announced, timeout=20, what="echannel sim doors")
    return child, found


async def until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(0.001)


async def measure_latency(port: str, commands: int) -> list[float]:
    doors = SerialDoorController(DoorLinkSettings(port=port))
    task = asyncio.create_task(doors.run(lambda event: None))
    try:
        await until(lambda: doors.link.link_up and doors.link.firmware is not None)
        await asyncio.sleep(0.3)
        doors.link.ack_latencies.clear()
        ops = (DoorOp.OPEN, DoorOp.LOCK)
        for i in range(commands):
            doors.command(Door.ENTRY if i % 2 else Door.EXIT, ops[(i // 2) % 2])
            await until(lambda: doors.link.in_flight == 0)
            await asyncio.sleep(0.005)  # an idle line between commands, as at a gate
        return [s * 1000.0 for s in doors.link.ack_latencies]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def measure_silence(port: str, control: RigControl) -> dict[str, float]:
    doors = SerialDoorController(DoorLinkSettings(port=port))
    task = asyncio.create_task(doors.run(lambda event: None))
    try:
        await until(lambda: doors.link.link_up and doors.link.firmware is not None)
        for door in Door:
            doors.command(door, DoorOp.LOCK)

        def locked() -> bool:
            status = control.send("status")["result"]
            return all(d["position"] == 0.0 for d in status["doors"]) and status["link_ok"]

        await until(lambda: doors.link.in_flight == 0 and locked())
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    last_frame_wall = doors.link._last_tx  # the host's last write (monotonic clock)
    snapshot_wall = time.monotonic()
    status = control.send("status")["result"]
    silent_from = status["now_ms"] - (snapshot_wall - last_frame_wall) * 1000.0
    fired = moving = opened = None
    deadline = time.monotonic() + 6
    while opened is None and time.monotonic() < deadline:
        status = control.send("status")["result"]
        now = status["now_ms"]
        if fired is None and not status["link_ok"]:
            fired = now
        if moving is None and status["doors"][0]["position"] > 0.0:
            moving = now
        if status["doors"][0]["position"] >= 1.0:
            opened = now
        time.sleep(0.002)
    if fired is None or moving is None or opened is None:
        raise RuntimeError("the door controller did not reach its safe state")
    return {"watchdog_ms": fired - silent_from, "moving_ms": moving - silent_from, "open_ms": opened - silent_from}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument("--silences", type=int, default=5)
    args = parser.parse_args()

    print(f"machine: {machine_info()}")
    with tempfile.TemporaryDirectory() as tmp:
        child, where = start_rig(Path(tmp))
        try:
            port = where["link"]
            latencies = asyncio.run(measure_latency(port, args.commands))
            print(
                f"command -> ACK over the pty ({len(latencies)} commands): p50 {percentile(latencies, 0.5):.2f} ms, "
                f"p95 {percentile(latencies, 0.95):.2f} ms, p99 {percentile(latencies, 0.99):.2f} ms, "
                f"max {max(latencies):.2f} ms (goal: p95 <= 5 ms)"
            )
            with RigControl(where["control_port"]) as control:
                runs = []
                for _ in range(args.silences):
                    runs.append(asyncio.run(measure_silence(port, control)))
                    time.sleep(0.2)
            for key, label in (
                ("watchdog_ms", "link watchdog fires, safe state applied"),
                ("moving_ms", "entry door starts opening (after the lock release)"),
                ("open_ms", "entry door fully open"),
            ):
                values = [r[key] for r in runs]
                print(
                    f"host silence -> {label}: median {statistics.median(values):.0f} ms, "
                    f"max {max(values):.0f} ms over {len(values)} runs"
                )
            worst = max(r["watchdog_ms"] for r in runs)
            print(f"goal: safe state <= 1200 ms after the host falls silent: worst {worst:.0f} ms "
                  f"({'met' if worst <= 1200 else 'NOT met'})")  # fmt: skip
        finally:
            child.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
