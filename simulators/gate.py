"""`echannel simulate`: the real gate core and daemon wiring, simulated devices, scripted travellers.

Each traveller follows its scenario (simulators/scenarios.py) the way a person would: puts the document
down, waits for the entry to open, steps in, looks at the camera, leaves through the exit, or backs out
to an officer when referred. The run fails (exit 1) if any transaction ends differently than expected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from edge import logs
from edge.config import ConfigError, GateConfig, load_config
from edge.daemon import Devices, GateDaemon
from edge.gate import events as ev
from edge.gate.actions import Action, PublishRecord, PublishState, State
from edge.gate.events import Door, DoorPosition
from edge.gate.machine import Gate
from edge.gate.records import TransactionRecord
from edge.wiring import DeviceUnavailable
from simulators.inprocess import (
    SimDisplay,
    SimDocumentReader,
    SimDoorController,
    SimFaceVerifier,
    SimPanel,
    SimTelemetry,
    Stage,
)
from simulators.launcher import LaunchError
from simulators.scenarios import Scenario, traveller_mix

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "simulated.toml"


class InProcessRig:
    """The simulated gate's devices plus the hands and feet of the traveller and the officer."""

    def __init__(self, config: GateConfig) -> None:
        self.stage = Stage()
        self.document = SimDocumentReader(self.stage)
        self.face = SimFaceVerifier(self.stage, config.face.threshold)
        self.doors = SimDoorController(self.stage)
        self.panel = SimPanel()
        self.display = SimDisplay()
        self.telemetry = SimTelemetry()

    def devices(self) -> Devices:
        return Devices(self.document, self.face, self.doors, self.panel, self.display, self.telemetry)

    def arrive(self, scenario: Scenario) -> None:
        self.stage.traveller = scenario

    def present_document(self) -> None:
        self.document.present()

    def take_document(self) -> None:
        pass  # the in-process reader forgets the card once read

    def step_in(self) -> None:
        self.doors.step_in()

    def second_person_follows(self) -> None:
        self.doors.second_person_follows()

    def step_out_through_exit(self) -> None:
        self.doors.step_out_through_exit()

    def step_back_out(self) -> None:
        self.doors.step_back_out()

    def fire_alarm(self, on: bool) -> None:
        self.panel.fire_alarm(on)

    def officer_resets(self) -> None:
        self.telemetry.officer(ev.Reset(command_id="officer", origin="officer"))


class GateWatch:
    """Follows the gate through the daemon's observer hook and lets a coroutine wait for a condition."""

    def __init__(self, daemon: GateDaemon) -> None:
        self.gate = daemon.gate
        self.doors = {door: DoorPosition.UNKNOWN for door in Door}
        self.records: list[TransactionRecord] = []
        self.changes = 0
        self.alarms: tuple[str, ...] = ()
        self._changed = asyncio.Event()
        daemon.observe(self._on_event)

    def _on_event(self, event: ev.Event | None, actions: list[Action]) -> None:
        if isinstance(event, ev.DoorStateChanged):
            self.doors[event.door] = event.position
        self.records += [a.record for a in actions if isinstance(a, PublishRecord)]
        for action in actions:
            if isinstance(action, PublishState):
                self.alarms = action.alarms
        self.changes += 1
        self._changed.set()

    async def until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"gate did not reach: {what} (state {self.gate.state.value})")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def next_change(self, timeout: float) -> None:
        """Wait for the gate's next event or timeout action."""
        seen = self.changes
        await self.until(lambda: self.changes != seen, timeout, "any change")

    def door_open(self, door: Door) -> bool:
        return self.doors[door] is DoorPosition.OPEN


@dataclass
class Outcome:
    index: int
    scenario: Scenario
    record: TransactionRecord
    seconds: float

    @property
    def as_expected(self) -> bool:
        return (self.record.outcome.value, self.record.reason) == (
            self.scenario.expected_outcome,
            self.scenario.expected_reason,
        )


async def send_traveller(rig: InProcessRig, watch: GateWatch, scenario: Scenario, timeout: float) -> TransactionRecord:
    """Play one traveller from arrival to the end of their transaction, then let the gate return to idle."""
    gate = watch.gate
    await watch.until(lambda: gate.state is State.IDLE, timeout, "idle")
    seen = len(watch.records)
    behaviour = scenario.behaviour
    rig.arrive(scenario)
    if behaviour == "broker_outage":
        rig.broker_down()
    rig.present_document()
    entered = disturbed = False
    while len(watch.records) == seen:
        state = gate.state
        if state is State.ENTRY_OPEN and watch.door_open(Door.ENTRY) and not entered:
            if behaviour != "never_enters":
                entered = True
                rig.step_in()
                if behaviour == "tailgater":
                    rig.second_person_follows()
        elif state is State.IN_COMPARTMENT and behaviour == "door_obstruction" and not disturbed:
            disturbed = True
            rig.obstruct_entry()
        elif state is State.VERIFYING_FACE and behaviour in ("fire_alarm", "mcu_reset") and not disturbed:
            disturbed = True
            rig.fire_alarm(True) if behaviour == "fire_alarm" else rig.reset_door_controller()
        elif state is State.EXIT_OPEN and watch.door_open(Door.EXIT):
            rig.step_out_through_exit()
        await watch.next_change(timeout)
    record = watch.records[seen]
    rig.take_document()
    if behaviour == "broker_outage":
        rig.broker_up()
    # What happens after the decision: the traveller backs out to the officer, who resets the gate.
    if gate.state is State.EMERGENCY:
        rig.step_back_out()
        rig.fire_alarm(False)
        await watch.until(lambda: "fire" not in watch.alarms, timeout, "the fire alarm to clear")
        rig.officer_resets()
    elif gate.state is State.REFERRED:
        if entered:
            await watch.until(lambda: watch.door_open(Door.ENTRY), timeout, "entry open for the way back")
            rig.step_back_out()
        rig.officer_resets()
    await watch.until(lambda: gate.state is State.IDLE, timeout, "idle after the traveller")
    return record


@contextlib.contextmanager
def bring_up(config: GateConfig, config_path: str, in_process: bool) -> Iterator[tuple[object, Devices]]:
    """The rig (travellers' hands) and the daemon's devices: the real adapters against every simulator, or the
    in-process stand-ins (`--in-process`, no simulators: a quick look at the core and the wiring)."""
    if in_process:
        rig = InProcessRig(config)
        yield rig, rig.devices()
        return
    from edge.wiring import build_devices
    from simulators.launcher import HardwareRig, SimulatedGate

    with SimulatedGate(config) as sim:
        devices = build_devices(config, config_path)
        sim.settle_inputs()
        rig = HardwareRig(sim, config.gate.site, config.gate.gate_id)
        try:
            yield rig, devices
        finally:
            rig.close()


async def run_travellers(
    config: GateConfig,
    rig,
    devices: Devices,
    scenarios: list[Scenario],
    on_outcome: Callable[[Outcome], None],
) -> tuple[list[Outcome], float]:
    gate = Gate(config.gate.timeouts.to_timeouts(), start_in_service=True)
    daemon = GateDaemon(gate, devices)
    watch = GateWatch(daemon)
    stop = asyncio.Event()
    runner = asyncio.create_task(daemon.run(stop))
    outcomes: list[Outcome] = []
    step_timeout = 4 * max(vars(config.gate.timeouts).values()) + 5
    try:
        await asyncio.wait_for(daemon.ready.wait(), 30)
        await watch.until(lambda: gate.state is State.IDLE, step_timeout, "idle at start")
        started = time.monotonic()
        for index, scenario in enumerate(scenarios, 1):
            t0 = time.monotonic()
            try:
                record = await send_traveller(rig, watch, scenario, step_timeout)
            except TimeoutError as exc:
                raise TimeoutError(f"traveller {index} ({scenario.name}): {exc}") from None
            outcome = Outcome(index, scenario, record, time.monotonic() - t0)
            outcomes.append(outcome)
            on_outcome(outcome)
        elapsed = time.monotonic() - started
        await confirm_delivery(rig, [o.record.transaction_id for o in outcomes])
    finally:
        stop.set()
        await runner
    return outcomes, elapsed


async def confirm_delivery(rig, transaction_ids: list[str], timeout: float = 30.0) -> None:
    """Every record must reach the control room (through outages): wait for the last ones to arrive."""
    control_room = getattr(getattr(rig, "sim", None), "control_room", None)
    if control_room is None:
        return  # the in-process stand-ins have no broker
    deadline = time.monotonic() + timeout
    while control_room.missing(transaction_ids) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    missing = control_room.missing(transaction_ids)
    if missing:
        raise DeliveryError(f"{len(missing)} of {len(transaction_ids)} records never reached the control room")
    rig.delivered = len(transaction_ids)


class DeliveryError(RuntimeError):
    pass


# --- presentation ---------------------------------------------------------------------------------------------


class Progress:
    def __init__(self, total: int, stream=sys.stderr) -> None:
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()

    def line(self, outcome: Outcome) -> None:
        wanted = f"{outcome.scenario.expected_outcome}/{outcome.scenario.expected_reason}"
        mark = "ok" if outcome.as_expected else f"UNEXPECTED (wanted {wanted})"
        r = outcome.record
        text = (
            f"{outcome.index:4d}  {outcome.scenario.name:<20} {r.outcome.value:<9} {r.reason:<24} "
            f"{outcome.seconds:6.2f} s  {mark}"
        )
        if self.tty:
            self.stream.write("\r\033[K")
        print(text, flush=True)
        self.bar(outcome.index)

    def bar(self, done: int) -> None:
        if not self.tty:
            return
        width = 30
        filled = int(width * done / max(1, self.total))
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}")
        self.stream.flush()
        if done == self.total:
            self.stream.write("\r\033[K")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarise(outcomes: list[Outcome], elapsed: float) -> dict:
    by_outcome: dict[str, int] = {}
    for o in outcomes:
        by_outcome[o.record.outcome.value] = by_outcome.get(o.record.outcome.value, 0) + 1
    steps: dict[str, list[float]] = {}
    for o in outcomes:
        for step, ms in o.record.steps_ms.items():
            steps.setdefault(step, []).append(ms)
    return {
        "travellers": len(outcomes),
        "as_expected": sum(o.as_expected for o in outcomes),
        "unexpected": [
            {
                "index": o.index,
                "scenario": o.scenario.name,
                "outcome": o.record.outcome.value,
                "reason": o.record.reason,
            }
            for o in outcomes
            if not o.as_expected
        ],
        "outcomes": by_outcome,
        "steps_ms": {
            step: {"n": len(v), "p50": round(_percentile(v, 50), 1), "p95": round(_percentile(v, 95), 1)}
            for step, v in steps.items()
        },
        "elapsed_s": round(elapsed, 2),
        "throughput_per_min": round(60 * len(outcomes) / elapsed, 1) if elapsed else None,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
    }


def print_summary(summary: dict) -> None:
    print()
    print(f"{'outcome':<12}{'count':>7}")
    for outcome, count in sorted(summary["outcomes"].items()):
        print(f"{outcome:<12}{count:>7}")
    print()
    print(f"{'step':<20}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}")
    for step, figures in summary["steps_ms"].items():
        print(f"{step:<20}{figures['n']:>5}{figures['p50']:>10.1f}{figures['p95']:>10.1f}")
    print()
    print(
        f"{summary['travellers']} travellers in {summary['elapsed_s']} s "
        f"({summary['throughput_per_min']} per minute); "
        f"{summary['as_expected']} as expected, {len(summary['unexpected'])} unexpected"
    )


def simulate(
    travellers: int,
    config_path: str | None,
    seed: int,
    report: str | None,
    in_process: bool = False,
    mix: dict[str, float] | None = None,
    monitor: bool = False,
) -> int:
    path = config_path or str(DEFAULT_CONFIG)
    try:
        config = load_config(path, check_devices=False)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{path}: {problem}", file=sys.stderr)
        return 2
    if travellers < 1:
        print("--travellers must be at least 1", file=sys.stderr)
        return 2
    logs.configure(config.logging.level, "text")
    try:
        scenarios = traveller_mix(travellers, seed, mix, hardware=not in_process)
    except ValueError as exc:
        print(f"--mix: {exc}", file=sys.stderr)
        return 2
    progress = Progress(travellers)
    print(f"simulating {travellers} travellers through gate {config.gate.site}/{config.gate.gate_id}")
    try:
        with bring_up(config, path, in_process) as (rig, devices):
            on_outcome = progress.line
            control_room = getattr(getattr(rig, "sim", None), "control_room", None)
            if monitor and control_room is not None:

                def on_outcome(outcome: Outcome) -> None:  # the control room's view beside every traveller
                    progress.line(outcome)
                    print("\n".join("        | " + line for line in control_room.render().splitlines()))

            outcomes, elapsed = asyncio.run(run_travellers(config, rig, devices, scenarios, on_outcome))
    except TimeoutError as exc:
        print(f"\nsimulation stuck: {exc}", file=sys.stderr)
        return 1
    except (LaunchError, DeviceUnavailable) as exc:
        print(f"\nsimulated gate cannot start: {exc}", file=sys.stderr)
        return 1
    except DeliveryError as exc:
        print(f"\ntelemetry lost records: {exc}", file=sys.stderr)
        return 1
    summary = summarise(outcomes, elapsed)
    summary["records_at_control_room"] = getattr(rig, "delivered", None)
    print_summary(summary)
    if summary["records_at_control_room"] is not None:
        print(f"all {summary['records_at_control_room']} transaction records reached the control room over MQTT")
    if report:
        Path(report).write_text(json.dumps(summary, indent=2) + "\n")
        print(f"report written to {report}")
    return 0 if not summary["unexpected"] else 1
