"""One command, the whole benchmark report: markdown, PNG plots and JSON.

    .venv/bin/python -m benchmarks.report [--out DIR] [--travellers N] [--soak N] [--quick]

Sections (each measured here, in this run, by the per-part benchmarks' own functions where they exist):
 1. card read        benchmarks/card_read.measure: pcscd + vpcd + card emulator, full read vs the raw exchanges
 2. face pipeline    benchmarks/face.py --child 2: per stage p50/p95 vs raw onnxruntime session.run
 3. decision latency a real simulated gate (simulators/launcher.SimulatedGate, the daemon's real adapters),
                     genuine travellers; timestamps taken by wrapping, in this harness only, the face capture's
                     per-frame call, the verifier's outgoing FaceVerified and the door adapter's command write
 4. software time    same run: chip read + face work + decision path + door command-to-ACK per traveller
 5. door link        benchmarks/door_link_host: SerialDoorController against `echannel sim doors`
 6. telemetry        benchmarks/telemetry.flush_rate: outbox flushed to a private mosquitto, events/s
 7. daemon           `echannel run --config config/simulated.toml` as a child against a SimulatedGate:
                     time to READY=1 on a NOTIFY_SOCKET bound here (as systemd would), RSS from /proc
 8. soak             the daemon with the in-process stand-in devices but the REAL MqttTelemetry adapter and a
                     real mosquitto: RSS, open fds and outbox size sampled over N transactions
Only one simulated gate / pcscd can run on a machine: do not run this next to `echannel simulate`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks import machine
from benchmarks.report_markdown import goal, number, percentile, render

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "simulated.toml"


def pct(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else round(value, 3)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def plot_path(out: Path, name: str) -> Path:
    return out / f"{name}.png"


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --- 1. card read -------------------------------------------------------------------------------------------


def card_section(quick: bool, out: Path) -> dict:
    from benchmarks import card_read
    from benchmarks.card_floor import best_ratio

    reads = 5 if quick else 20
    variants = (("pace", "auto"), ("bac", "auto")) if quick else card_read.VARIANTS
    result = card_read.measure(reads, 17.0, variants)
    figures, refs = [], []
    for v in result["variants"]:
        ratio = statistics.median(v["full_ms"]) / statistics.median(v["replay_ms"])
        figures.append(
            [
                f"{v['label']}: full read p50 / p95",
                f"{number(pct(v['full_ms'], 50), 'ms')} / {number(pct(v['full_ms'], 95), 'ms')} ({v['apdus']} APDUs)",
            ]
        )
        figures.append([f"{v['label']}: same exchanges raw (replayed) p50", number(pct(v["replay_ms"], 50), "ms")])
        figures.append([f"{v['label']}: transport only p50", number(pct(v["raw_ms"], 50), "ms")])
        best = best_ratio(statistics.median(v["replay_ms"]), v["floor_ms"])
        figures.append([f"{v['label']}: least terminal work (library calls alone)",
                        f"{number(sum(v['floor_ms'].values()), 'ms')} (best full/replay {best:.2f}x)"])
        refs.append(f"{v['label']} full/replay {ratio:.2f}x")
    pace = next(v for v in result["variants"] if v["protocol"] == "pace")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    labels, data = [], []
    for v in result["variants"]:
        labels += [f"{v['label']}\nfull", f"{v['label']}\nreplay", f"{v['label']}\ntransport"]
        data += [v["full_ms"], v["replay_ms"], v["raw_ms"]]
    import matplotlib

    sideways = {"orientation": "horizontal"} if _version(matplotlib.__version__) >= (3, 10) else {"vert": False}
    ax.boxplot(data, **sideways)
    ax.set_yticks(range(1, len(labels) + 1), labels)
    ax.set_xlabel("ms per document read")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("Card read through pcscd + vpcd + emulator vs the same APDUs raw")
    fig.tight_layout()
    fig.savefig(plot_path(out, "card_read"), dpi=80)
    plt.close(fig)
    return {
        "key": "card",
        "title": "Card read",
        "how": f"benchmarks/card_read.measure: our pcscd with vsmartcard-vpcd, the card emulator in its own "
        f"process, a TD3 with a {result['dg2_bytes']}-byte DG2; connect + read_document (access control, "
        f"every data group, Active Authentication, every check), {reads} runs after a warm-up. "
        "Reference: the recorded wire bytes replayed to the same (replayable) chip, the terminal doing nothing; "
        "and, transport only, the plain APDUs sent in the clear to an emulator with no access control. "
        "The least terminal work is benchmarks/card_floor.py: the cipher, MAC, key agreement, signature, hash "
        "and decode calls the read needs, timed alone.",
        "figures": figures,
        "reference": "; ".join(refs),
        "goals": [
            goal("PACE full read p50 (card_read.py's goal)", pct(pace["full_ms"], 50), 150, "ms"),
            goal(
                "PACE full read / the same exchanges replayed (card_read.py's goal)",
                round(statistics.median(pace["full_ms"]) / statistics.median(pace["replay_ms"]), 2),
                1.3,
                "x",
            ),
        ],
        "plot": "card_read.png",
        "data": result,
    }


# --- 2. face pipeline ---------------------------------------------------------------------------------------


def face_section(quick: bool, out: Path) -> dict:
    from benchmarks.face import make_inputs

    frames = 60 if quick else 300
    with tempfile.TemporaryDirectory(prefix="face-bench-") as inputs:
        make_inputs(Path(inputs))  # here, so the measured process holds the pipeline only
        command = [sys.executable, str(ROOT / "benchmarks" / "face.py"), "--child", "2", "--frames", str(frames)]
        run = subprocess.run(
            [*command, "--inputs", inputs],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    stages = result["stages_ms"]
    names = ("decode", "detect", "align", "embed", "compare", "total", "frame_no_compare")
    figures = [
        [f"{name} p50 / p95", f"{number(stages[name]['p50'], 'ms')} / {number(stages[name]['p95'], 'ms')}"]
        for name in names
    ]
    raw = result["raw_ms"]
    figures += [
        [f"raw session.run {k} p50 / p95", f"{number(raw[k]['p50'], 'ms')} / {number(raw[k]['p95'], 'ms')}"]
        for k in ("yunet_run", "sface_run", "both")
    ]
    figures.append(["RSS after the run (pipeline loaded)", number(result["rss_mb"]["after_run"], "MB")])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3))
    shown = ("decode", "detect", "align", "embed", "compare")
    xs = range(len(shown) + 2)
    p50 = [stages[s]["p50"] for s in shown] + [stages["total"]["p50"], raw["both"]["p50"]]
    p95 = [stages[s]["p95"] for s in shown] + [stages["total"]["p95"], raw["both"]["p95"]]
    ax.bar([x - 0.2 for x in xs], p50, width=0.4, label="p50")
    ax.bar([x + 0.2 for x in xs], p95, width=0.4, label="p95")
    ax.set_xticks(list(xs), [*shown, "detect+align\n+embed", "raw\nsession.run"], fontsize=8)
    ax.set_ylabel("ms")
    ax.set_title(f"Face pipeline per stage, 640x480, {result['threads']} onnxruntime threads")
    ax.legend()
    fig.tight_layout()
    fig.savefig(plot_path(out, "face"), dpi=80)
    plt.close(fig)
    return {
        "key": "face",
        "title": "Face pipeline",
        "how": f"benchmarks/face.py in a fresh process, 2 onnxruntime threads (the daemon's default), {frames} "
        "iterations on a camera-simulator JPEG frame after a warm-up; stages timed with perf_counter.",
        "figures": figures,
        "reference": f"raw YuNet+SFace session.run p50 {number(raw['both']['p50'], 'ms')} on the same inputs; "
        f"pipeline/raw {result['detect_align_embed_over_raw']:.2f}x",
        "goals": [
            goal("detect+align+embed p50 (face.py's goal)", stages["total"]["p50"], 15, "ms"),
            goal(
                "detect+align+embed / raw session.run (face.py's goal)", result["detect_align_embed_over_raw"], 1.2, "x"
            ),
        ],
        "plot": "face.png",
        "data": result,
    }


# --- 3 + 4. decision latency and software time in a real simulated gate ----------------------------------------


class GateProbe:
    """Timestamps of one traveller, taken by the harness's wrappers (production code is unchanged)."""

    def __init__(self) -> None:
        self.reset(0)

    def reset(self, acks_seen: int) -> None:
        self.face_work_s = 0.0  # FaceCapture.process + the portrait embedding, summed
        self.frames = 0
        self.last_frame_at: float | None = None  # arrival of the frame that decided (FrameGrabber's clock)
        self.verified_at: float | None = None  # the verifier hands FaceVerified to the daemon
        self.exit_open_written_at: float | None = None  # the exit OPEN frame written to the door port
        self.acks_seen = acks_seen


@contextlib.contextmanager
def instrumented(devices, probe: GateProbe):
    """Wrap the face capture, the verifier's outgoing events and the door adapter's command write."""
    import edge.biometrics.verifier as verifier_module
    from edge.biometrics.pipeline import Decision
    from edge.gate.actions import DoorOp
    from edge.gate.events import Door, FaceVerified

    original_capture = verifier_module.FaceCapture
    clock = time.monotonic

    class TimedCapture(original_capture):  # type: ignore[misc, valid-type]
        def process(self, image, at):  # type: ignore[no-untyped-def]
            t0 = clock()
            signals = super().process(image, at)
            t1 = clock()
            probe.face_work_s += t1 - t0
            probe.frames += 1
            if any(isinstance(s, Decision) for s in signals):
                probe.last_frame_at = at
            return signals

    face, doors = devices.face, devices.doors
    engine = face.engine
    original_portrait = engine.portrait_embedding

    def portrait_embedding(image):  # type: ignore[no-untyped-def]
        t0 = clock()
        try:
            return original_portrait(image)
        finally:
            probe.face_work_s += clock() - t0

    original_send = face._send

    def send(event):  # type: ignore[no-untyped-def]
        if isinstance(event, FaceVerified):
            probe.verified_at = clock()
        original_send(event)

    original_command = doors._command

    def command(door, op):  # type: ignore[no-untyped-def]
        original_command(door, op)  # writes the frame to the port (os.write) before returning
        if door is Door.EXIT and op is DoorOp.OPEN:
            probe.exit_open_written_at = clock()

    verifier_module.FaceCapture = TimedCapture
    engine.portrait_embedding, face._send, doors._command = portrait_embedding, send, command
    try:
        yield
    finally:
        verifier_module.FaceCapture = original_capture
        engine.portrait_embedding, face._send, doors._command = original_portrait, original_send, original_command


def run_simulated_gate(travellers: int) -> list[dict]:
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    from edge import logs
    from edge.config import load_config
    from simulators.gate import bring_up, run_travellers
    from simulators.scenarios import SCENARIOS

    Device.pin_factory = MockFactory()  # a fresh board: an earlier failed attempt may still hold its pins
    config = load_config(str(CONFIG), check_devices=False)
    logs.configure("error", "text")
    scenarios = [SCENARIOS["genuine_td3" if i % 2 else "genuine_td1"] for i in range(travellers)]
    probe = GateProbe()
    rows: list[dict] = []
    with bring_up(config, str(CONFIG), in_process=False) as (rig, devices):
        link = devices.doors.link

        def on_outcome(outcome) -> None:  # type: ignore[no-untyped-def]
            record = outcome.record
            acks = list(link.ack_latencies)[probe.acks_seen :]
            row = {
                "scenario": outcome.scenario.name,
                "outcome": record.outcome.value,
                "reason": record.reason,
                "steps_ms": record.steps_ms,
                "read_ms": record.read_ms,
                "apdus": record.apdu_count,
                "face_work_ms": probe.face_work_s * 1000,
                "frames": probe.frames,
                "door_acks_ms": [a * 1000 for a in acks],
                "frame_to_verified_ms": _ms(probe.last_frame_at, probe.verified_at),
                "verified_to_wire_ms": _ms(probe.verified_at, probe.exit_open_written_at),
                "decision_ms": _ms(probe.last_frame_at, probe.exit_open_written_at),
                "wall_s": outcome.seconds,
            }
            parts = (row["read_ms"], row["face_work_ms"], row["verified_to_wire_ms"])
            row["software_ms"] = None if None in parts else sum(parts) + sum(row["door_acks_ms"])
            rows.append(row)
            probe.reset(len(link.ack_latencies))

        with instrumented(devices, probe):
            asyncio.run(run_travellers(config, rig, devices, scenarios, on_outcome))
    return rows


def _ms(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None or end < start else (end - start) * 1000


def gate_sections(travellers: int, out: Path) -> list[dict]:
    rows = run_simulated_gate(travellers)
    cleared = [r for r in rows if r["outcome"] == "cleared"]
    decision = [r["decision_ms"] for r in cleared if r["decision_ms"] is not None]
    to_verified = [r["frame_to_verified_ms"] for r in cleared if r["frame_to_verified_ms"] is not None]
    to_wire = [r["verified_to_wire_ms"] for r in cleared if r["verified_to_wire_ms"] is not None]
    software = [r["software_ms"] for r in cleared if r["software_ms"] is not None]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3))
    xs = list(range(1, len(cleared) + 1))
    ax.bar(xs, [r["frame_to_verified_ms"] or 0 for r in cleared], label="last frame -> FaceVerified")
    ax.bar(
        xs,
        [r["verified_to_wire_ms"] or 0 for r in cleared],
        bottom=[r["frame_to_verified_ms"] or 0 for r in cleared],
        label="FaceVerified -> exit OPEN written",
    )
    ax.axhline(50, color="red", linestyle="--", label="goal p95 50 ms")
    ax.set_xlabel("genuine traveller")
    ax.set_ylabel("ms")
    ax.set_title("Decision latency: last camera frame to exit-open command on the wire")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plot_path(out, "decision_latency"), dpi=80)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3))
    chip = [r["read_ms"] or 0 for r in cleared]
    face = [r["face_work_ms"] for r in cleared]
    path = [r["verified_to_wire_ms"] or 0 for r in cleared]
    door = [sum(r["door_acks_ms"]) for r in cleared]
    bottom = [0.0] * len(cleared)
    for values, label in ((chip, "chip read"), (face, "face work"), (path, "decision path"), (door, "door ACKs")):
        ax.bar(xs, values, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.axhline(1000, color="red", linestyle="--", label="goal 1 s")
    ax.set_xlabel("genuine traveller")
    ax.set_ylabel("ms")
    ax.set_title("Software time per genuine traveller")
    ax.legend(fontsize=7, ncol=5)
    fig.tight_layout()
    fig.savefig(plot_path(out, "software_time"), dpi=80)
    plt.close(fig)

    steps: dict[str, list[float]] = {}
    for r in cleared:
        for step, ms in r["steps_ms"].items():
            steps.setdefault(step, []).append(ms)
    wall = ", ".join(f"{step} {number(pct(v, 50), 'ms')}" for step, v in steps.items())
    how = (
        f"{len(rows)} genuine travellers (TD1 and TD3 alternating) through the real simulated gate: mosquitto, "
        "pcscd + vpcd + card emulator, the door-controller rig behind a pty, the MJPEG camera simulator, "
        "MockFactory GPIO, the real daemon (GateDaemon) with config/simulated.toml and build_devices. As in "
        "`echannel simulate`, the camera simulator (rendering and JPEG-encoding 640x480 frames) and the door rig "
        "run as threads of this same process: they compete with the daemon for the interpreter lock and the "
        "machine's cores, which a real gate's camera and door controller do not. "
    )
    decision_section = {
        "key": "decision",
        "title": "Decision latency",
        "how": how + "Timestamps (time.monotonic) from wrappers installed by this harness only: the arrival time "
        "of the camera frame whose processing produced the decision (FaceCapture.process's `at`), the "
        "verifier handing FaceVerified to the daemon, and the door adapter's _command returning after "
        "os.write of the exit OPEN frame to the pty.",
        "figures": [
            ["travellers cleared / run", f"{len(cleared)} / {len(rows)}"],
            [
                "last frame -> exit OPEN written, p50 / p95 / max",
                f"{number(pct(decision, 50), 'ms')} / {number(pct(decision, 95), 'ms')} / "
                f"{number(max(decision) if decision else None, 'ms')}",
            ],
            [
                "of which last frame -> FaceVerified (the decisive frame's processing), p50 / p95",
                f"{number(pct(to_verified, 50), 'ms')} / {number(pct(to_verified, 95), 'ms')}",
            ],
            [
                "of which FaceVerified -> exit OPEN written (queue, gate core, door link), p50 / p95",
                f"{number(pct(to_wire, 50), 'ms')} / {number(pct(to_wire, 95), 'ms')}",
            ],
        ],
        "reference": "face pipeline detect+align+embed p50 of section 2 (one frame's work, measured alone)",
        "goals": [goal("decision latency p95", pct(decision, 95), 50, "ms")],
        "plot": "decision_latency.png",
        "data": rows,
    }
    software_section = {
        "key": "software",
        "title": "Software time per genuine traveller",
        "how": "Same run. Per cleared traveller: chip read (the record's read_ms: PC/SC exchanges, secure "
        "messaging, every check) + face work (the portrait embedding and every FaceCapture.process call of the "
        "capture, summed; waiting for frames excluded) + the decision path (FaceVerified -> exit OPEN written) "
        "+ command-to-ACK of every door command of the transaction (DoorLink.ack_latencies). Excluded: the "
        "traveller's walking, door travel, and waiting for the camera's next frame.",
        "figures": [
            [
                "software time p50 / p95 / max",
                f"{number(pct(software, 50), 'ms')} / {number(pct(software, 95), 'ms')}"
                f" / {number(max(software) if software else None, 'ms')}",
            ],
            ["chip read p50", number(pct([r["read_ms"] for r in cleared if r["read_ms"]], 50), "ms")],
            [
                "face work p50 (frames processed p50)",
                f"{number(pct([r['face_work_ms'] for r in cleared], 50), 'ms')} "
                f"({number(pct([r['frames'] for r in cleared], 50))})",
            ],
            ["door command->ACK per transaction p50", number(pct([sum(r["door_acks_ms"]) for r in cleared], 50), "ms")],
            [
                "wall time per traveller p50 (walking, doors, camera included)",
                number(pct([r["wall_s"] * 1000 for r in cleared], 50), "ms"),
            ],
        ],
        "reference": f"the record's per-state wall times (steps_ms) p50: {wall}",
        "goals": [goal("software time per genuine traveller p95", pct(software, 95), 1000, "ms")],
        "plot": "software_time.png",
    }
    return [decision_section, software_section]


# --- 5. door link -----------------------------------------------------------------------------------------------


def door_section(quick: bool, out: Path) -> dict:
    from benchmarks import door_link_host
    from simulators.doors.control import RigControl

    commands, silences = (200, 2) if quick else (500, 5)
    with tempfile.TemporaryDirectory(prefix="report-doors-") as tmp:
        child, where = door_link_host.start_rig(Path(tmp))
        try:
            latencies = asyncio.run(door_link_host.measure_latency(where["link"], commands))
            runs = []
            with RigControl(where["control_port"]) as control:
                for _ in range(silences):
                    runs.append(asyncio.run(door_link_host.measure_silence(where["link"], control)))
                    time.sleep(0.2)
        finally:
            child.stop()
    watchdog = [r["watchdog_ms"] for r in runs]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.hist(latencies, bins=40)
    ax.axvline(5, color="red", linestyle="--", label="goal p95 5 ms")
    ax.set_xlabel("command -> ACK, ms")
    ax.set_ylabel("commands")
    ax.set_title("Door link through SerialDoorController over a pty")
    ax.legend()
    fig.tight_layout()
    fig.savefig(plot_path(out, "door_link"), dpi=80)
    plt.close(fig)
    return {
        "key": "doors",
        "title": "Door link",
        "how": f"benchmarks/door_link_host: SerialDoorController (as the daemon runs it) against `echannel sim "
        f"doors` (the real firmware logic in its own process behind a pty); {len(latencies)} commands one at a "
        f"time (OPEN/LOCK alternating), then {silences} times the host falls silent and the firmware's clock "
        "gives the time from the host's last frame to the link watchdog's safe state.",
        "figures": [
            [
                "command -> ACK p50 / p95 / max",
                f"{number(pct(latencies, 50), 'ms')} / "
                f"{number(pct(latencies, 95), 'ms')} / {number(max(latencies), 'ms')}",
            ],
            [
                "host silence -> safe state, median / max",
                f"{number(statistics.median(watchdog), 'ms')} / {number(max(watchdog), 'ms')}",
            ],
            [
                "host silence -> entry door fully open, median",
                number(statistics.median(r["open_ms"] for r in runs), "ms"),
            ],
        ],
        "reference": None,
        "goals": [
            goal("command -> ACK p95 (door issue's goal)", pct(latencies, 95), 5, "ms"),
            goal("host silence -> safe state, worst", max(watchdog), 1200, "ms"),
        ],
        "plot": "door_link.png",
        "data": {"latencies_ms": latencies, "silences": runs},
    }


# --- 6. telemetry -----------------------------------------------------------------------------------------------


def telemetry_section(quick: bool, out: Path) -> dict:
    events = 5000 if quick else 20000
    # In its own fresh process, as `benchmarks/telemetry.py` runs it: its control-room subscriber is a forked
    # process, and forking this long-lived, many-threaded process is asking for a deadlock.
    with tempfile.TemporaryDirectory(prefix="report-telemetry-") as tmp:
        result = Path(tmp) / "telemetry.json"
        argv = [sys.executable, str(ROOT / "benchmarks" / "telemetry.py"), "--events", str(events), "--skip-fleet"]
        subprocess.run(
            [*argv, "--json", str(result)], capture_output=True, text=True, check=True, cwd=ROOT, timeout=600
        )
        flush = json.loads(result.read_text())["flush"]
    return {
        "key": "telemetry",
        "title": "Telemetry throughput",
        "how": f"benchmarks/telemetry.py --skip-fleet (flush_rate) in a fresh process: {events} transaction "
        "records stored in the SQLite outbox while "
        "no broker is reachable, then MqttTelemetry connects to a private mosquitto (MQTT 5, QoS 1) and the "
        "time until the outbox is empty gives events/s; a control-room subscriber in its own process counts "
        "every event.",
        "figures": [
            ["outbox flush", number(flush["flush_per_s"], "events/s")],
            ["outbox append (no broker)", number(flush["append_per_s"], "events/s")],
            ["received / lost / duplicates", f"{flush['received']} / {flush['lost']} / {flush['duplicates']}"],
        ],
        "reference": None,
        "goals": [
            goal("outbox flush rate", flush["flush_per_s"], 5000, "events/s", higher_is_better=True),
            goal("events lost", flush["lost"], 0, "events"),
        ],
        "plot": None,
        "data": flush,
    }


# --- 7. daemon start and memory -----------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM in MB, from /proc/PID/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def start_daemon_until_ready(work: Path, settle_s: float, name: str) -> dict:
    from simulators.processes import ChildProcess

    notify = work / f"{name}.notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    env = {**os.environ, "NOTIFY_SOCKET": str(notify)}
    argv = [str(Path(sys.executable).with_name("echannel")), "run", "--config", str(CONFIG)]
    started = time.monotonic()
    child = ChildProcess(argv, name=name, log_dir=work, env=env, cwd=ROOT).start()
    try:
        deadline = started + 60
        ready_s = None
        while ready_s is None:
            if not child.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"no READY=1 from the daemon:\n{child.log_tail()}")
            sock.settimeout(0.05)
            try:
                message = sock.recv(4096).decode(errors="replace")
            except TimeoutError:
                continue
            if "READY=1" in message.split("\n"):
                ready_s = time.monotonic() - started
        at_ready = proc_status(child.pid)
        time.sleep(settle_s)  # a few metrics intervals and watchdog pings: the steady state
        if not child.alive():
            raise RuntimeError(f"the daemon exited after READY:\n{child.log_tail()}")
        steady = proc_status(child.pid)
        return {
            "ready_s": ready_s,
            "rss_at_ready_mb": at_ready["VmRSS"],
            "rss_mb": steady["VmRSS"],
            "peak_mb": steady["VmHWM"],
        }
    finally:
        child.stop()
        sock.close()


def daemon_section(quick: bool, out: Path) -> dict:
    from edge.config import load_config
    from simulators.launcher import SimulatedGate

    runs = 2 if quick else 5
    settle_s = 6.0 if quick else 12.0
    config = load_config(str(CONFIG), check_devices=False)
    results = []
    with tempfile.TemporaryDirectory(prefix="report-daemon-") as tmp, SimulatedGate(config):
        for index in range(runs):
            results.append(start_daemon_until_ready(Path(tmp), settle_s, f"daemon-{index}"))
    ready = [r["ready_s"] * 1000 for r in results]
    rss = [r["rss_mb"] for r in results]
    peak = [r["peak_mb"] for r in results]
    return {
        "key": "daemon",
        "title": "Daemon time to READY and RSS",
        "how": f"`echannel run --config config/simulated.toml` started {runs} times as a child process against a "
        "running SimulatedGate (all simulators up, nothing else), with NOTIFY_SOCKET pointing at a datagram "
        "socket bound here as systemd would; time from starting the process to the READY=1 datagram; RSS "
        f"(VmRSS, VmHWM) from /proc/PID/status {settle_s:.0f} s after READY (face models loaded, idle gate).",
        "figures": [
            ["time to READY p50 / max", f"{number(pct(ready, 50), 'ms')} / {number(max(ready), 'ms')}"],
            ["RSS at READY p50", number(pct([r["rss_at_ready_mb"] for r in results], 50), "MB")],
            [f"RSS {settle_s:.0f} s after READY, max", number(max(rss), "MB")],
            ["peak RSS (VmHWM), max", number(max(peak), "MB")],
        ],
        "reference": None,
        "goals": [
            goal("time to READY, worst", max(ready), 2000, "ms"),
            goal("daemon peak RSS (VmHWM), worst", max(peak), 250, "MB"),
        ],
        "plot": None,
        "data": results,
    }


# --- 8. soak ----------------------------------------------------------------------------------------------------


SOAK_MIX = {  # the default mix without `never_enters` (it waits out the 4 s entry timeout: a soak of timeouts)
    "genuine_td1": 30,
    "genuine_td3": 30,
    "genuine_second_face": 3,
    "impostor": 4,
    "forged_document": 3,
    "revoked_document": 2,
    "expired_document": 2,
    "cloned_chip": 2,
    "card_pulled_early": 3,
    "face_not_visible": 3,
    "pad_attack": 3,
    "tailgater": 3,
    "fire_alarm": 1,
}


def self_rss_mb() -> float:
    return proc_status(os.getpid())["VmRSS"]


def outbox_bytes(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal", path + "-shm") if os.path.exists(p))


def run_soak(transactions: int, work: Path, sample: Callable[[int, dict], None]) -> dict:
    from edge import logs
    from edge.config import load_config
    from edge.gate import events as ev
    from edge.telemetry.adapter import MqttTelemetry
    from edge.telemetry.payloads import GateMetadata
    from simulators.gate import InProcessRig
    from simulators.inprocess import Timings
    from simulators.mqtt_broker import MosquittoBroker
    from simulators.scenarios import traveller_mix

    config = load_config(str(CONFIG), check_devices=False)
    logs.configure("error", "text")
    rig = InProcessRig(config)
    rig.stage.timings = Timings(chip_read_s=0.01, door_motion_s=0.005, face_decision_s=0.02)
    scenarios = traveller_mix(transactions, seed=8, mix=SOAK_MIX)
    with MosquittoBroker(work / "broker") as broker:
        settings = dataclasses.replace(
            config.telemetry, broker=broker.url, outbox=str(work / "outbox.sqlite3"), command_keys=str(work / "keys")
        )
        (work / "keys").mkdir()
        telemetry = MqttTelemetry(settings, config.gate.site, config.gate.gate_id, GateMetadata("bench"))
        devices = rig.devices()
        devices.telemetry = telemetry
        emit_holder: dict = {}
        original_run = telemetry.run

        async def run(emit):  # type: ignore[no-untyped-def]
            emit_holder["emit"] = emit
            await original_run(emit)

        telemetry.run = run  # type: ignore[method-assign]
        # The officer's reset goes straight to the daemon (a signed command over the broker in the real gate).
        rig.officer_resets = lambda: emit_holder["emit"](ev.Reset(command_id="officer", origin="officer"))
        sample(0, {"pending": telemetry.store.pending(), "outbox_bytes": outbox_bytes(settings.outbox)})
        started = time.monotonic()
        counts = asyncio.run(soak_loop(config, rig, devices, scenarios, telemetry, settings.outbox, sample))
        elapsed = time.monotonic() - started
    return {"elapsed_s": elapsed, "wall_s": elapsed, **counts}


async def soak_loop(config, rig, devices, scenarios, telemetry, outbox: str, sample) -> dict:  # type: ignore[no-untyped-def]
    """simulators.gate.run_travellers without its history: this harness keeps no record of past transactions
    (GateWatch's list is emptied after each one, no outcome list), so RSS growth is the daemon's own."""
    from edge.daemon import GateDaemon
    from edge.gate.actions import State
    from edge.gate.machine import Gate
    from simulators.gate import GateWatch, send_traveller

    gate = Gate(config.gate.timeouts.to_timeouts(), start_in_service=True)
    daemon = GateDaemon(gate, devices)
    watch = GateWatch(daemon)
    stop = asyncio.Event()
    runner = asyncio.create_task(daemon.run(stop))
    step_timeout = 4 * max(vars(config.gate.timeouts).values()) + 5
    unexpected = stored = 0
    try:
        await asyncio.wait_for(daemon.ready.wait(), 30)
        await watch.until(lambda: gate.state is State.IDLE, step_timeout, "idle at start")
        for index, scenario in enumerate(scenarios, 1):
            record = await send_traveller(rig, watch, scenario, step_timeout)
            unexpected += (record.outcome.value, record.reason) != (scenario.expected_outcome, scenario.expected_reason)
            watch.records.clear()
            del record
            sample(index, {"pending": telemetry.store.pending(), "outbox_bytes": outbox_bytes(outbox)})
        stored = telemetry.store.last_seq()  # (the store closes with the daemon)
    finally:
        stop.set()
        await runner
    return {"unexpected": unexpected, "events_stored": stored}


def soak_child(transactions: int, into: Path) -> None:
    """The soak itself, in a fresh process (`--soak-child`): its RSS is the daemon's, not earlier sections'."""
    every = max(1, transactions // 200)
    samples: list[dict] = []
    started = time.monotonic()

    def sample(n: int, extra: dict) -> None:
        if n % every and n != transactions:
            return
        fds = len(os.listdir("/proc/self/fd"))
        samples.append(
            {
                "n": n,
                "t_s": round(time.monotonic() - started, 2),
                "rss_mb": round(self_rss_mb(), 2),
                "fds": fds,
                **extra,
            }
        )

    with tempfile.TemporaryDirectory(prefix="report-soak-") as tmp:
        result = run_soak(transactions, Path(tmp), sample)
    into.write_text(json.dumps({"every": every, "samples": samples, **result}))


def soak_section(transactions: int, out: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="report-soak-") as tmp:
        into = Path(tmp) / "soak.json"
        argv = [sys.executable, "-m", "benchmarks.report", "--soak-child", str(into), "--soak", str(transactions)]
        subprocess.run(argv, check=True, cwd=ROOT, timeout=3600)
        result = json.loads(into.read_text())
    samples, every = result.pop("samples"), result.pop("every")
    warm = next(s for s in samples if s["n"] >= min(transactions // 10, 200))
    last = samples[-1]
    growth = last["rss_mb"] - warm["rss_mb"]
    plt = pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(7, 6), sharex=True)
    ns = [s["n"] for s in samples]
    axes[0].plot(ns, [s["rss_mb"] for s in samples])
    axes[0].axvline(warm["n"], color="grey", linestyle=":", label="after warm-up")
    axes[0].set_ylabel("RSS MB")
    axes[0].legend(fontsize=7)
    axes[1].plot(ns, [s["fds"] for s in samples])
    axes[1].set_ylabel("open fds")
    axes[2].plot(ns, [s["pending"] for s in samples], label="pending events")
    axes[2].set_ylabel("outbox pending")
    ax2 = axes[2].twinx()
    ax2.plot(ns, [s["outbox_bytes"] / 1024 for s in samples], color="orange", label="outbox file KB")
    ax2.set_ylabel("outbox KB", color="orange")
    axes[2].set_xlabel("transactions")
    axes[0].set_title(f"Soak: {transactions} transactions")
    fig.tight_layout()
    fig.savefig(plot_path(out, "soak"), dpi=80)
    plt.close(fig)
    return {
        "key": "soak",
        "title": f"Soak of {transactions} transactions",
        "how": "A fresh process runs the real GateDaemon and gate core with the in-process stand-in devices "
        "(simulators/inprocess.py: document reader, face verifier, door controller, panel, display; timings "
        "scaled down to 10 ms chip read, 5 ms door motion, 20 ms face decision) and the REAL MqttTelemetry "
        "adapter (SQLite outbox, paho-mqtt) publishing to a real mosquitto started for the soak. Scenario mix: "
        "the default one without `never_enters`; referrals are reset by an officer event handed straight to "
        "the daemon (in a real gate it is a signed command over the broker). RSS and open fds are that whole "
        "process's (daemon + stand-ins + a harness that keeps no per-transaction history), sampled from "
        "/proc/self every "
        f"{every} transactions; RSS growth is from the sample after warm-up (transaction {warm['n']}) to the end.",
        "figures": [
            ["transactions / unexpected outcomes", f"{transactions} / {result['unexpected']}"],
            ["wall time", f"{result['wall_s']:.0f} s ({transactions / result['elapsed_s']:.1f} transactions/s)"],
            ["RSS after warm-up -> end", f"{number(warm['rss_mb'], 'MB')} -> {number(last['rss_mb'], 'MB')}"],
            [
                "open fds after warm-up -> end (max)",
                f"{warm['fds']} -> {last['fds']} ({max(s['fds'] for s in samples)})",
            ],
            ["outbox pending, max / at end", f"{max(s['pending'] for s in samples)} / {last['pending']}"],
            [
                "outbox file (with WAL), max / at end",
                f"{number(max(s['outbox_bytes'] for s in samples) / 1024, 'KB')}"
                f" / {number(last['outbox_bytes'] / 1024, 'KB')}",
            ],
        ],
        "reference": None,
        "goals": [
            goal("soak RSS growth", round(growth, 2), 5, "MB"),
            goal("open fd growth (issue #8 names no limit: none expected)", last["fds"] - warm["fds"], 0, "fds"),
        ],
        "plot": "soak.png",
        "data": {"samples": samples, **result},
    }


# --- the command --------------------------------------------------------------------------------------------


SIMULATED_BROKER = ("127.0.0.1", 18830)  # config/simulated.toml's broker: in use while any simulated gate runs


def wait_for_the_simulated_gate_slot(timeout: float = 600.0) -> None:
    """Only one simulated gate fits on a machine (fixed paths, ports, one pcscd): wait for another to end."""
    from simulators.processes import port_open

    deadline = time.monotonic() + timeout
    while port_open(*SIMULATED_BROKER) or _pcscd_running():
        if time.monotonic() > deadline:
            raise RuntimeError("another simulated gate (or pcscd) kept running: not measured")
        time.sleep(5)


def _pcscd_running() -> bool:
    for status in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if status.read_text().strip() == "pcscd":
                return True
    return False


def measured(
    name: str, work: Callable[[], dict | list[dict]], titles: list[str], *, exclusive: bool = False
) -> list[dict]:
    """Run one measurement; a failure becomes a section that says so (and its goals count as not measured).
    `exclusive` measurements need the machine's one simulated gate / pcscd: wait for it, try twice."""
    print(f"[report] {name} ...", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    attempts = 2 if exclusive else 1
    for attempt in range(1, attempts + 1):
        try:
            if exclusive:
                wait_for_the_simulated_gate_slot()
            result = work()
            break
        except Exception as exc:
            traceback.print_exc()
            if attempt < attempts:
                print(f"[report] {name} failed, trying again in 30 s", file=sys.stderr, flush=True)
                time.sleep(30)
                continue
            error = f"{type(exc).__name__}: {exc}"
            return [{"key": name, "title": title, "error": error, "goals": []} for title in titles]
    print(f"[report] {name} done in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    return result if isinstance(result, list) else [result]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/benchmarks", help="directory for report.md, report.json, PNGs")
    parser.add_argument("--travellers", type=int, default=20, help="genuine travellers in the simulated gate (20)")
    parser.add_argument("--soak", type=int, default=None, help="soak transactions (5000; 300 with --quick)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions everywhere (a few minutes)")
    parser.add_argument("--only", nargs="*", default=None, help=argparse.SUPPRESS)  # for working on one section
    parser.add_argument("--soak-child", default=None, help=argparse.SUPPRESS)  # the soak's own process
    args = parser.parse_args(argv)
    soak = args.soak if args.soak is not None else (300 if args.quick else 5000)
    if args.soak_child:
        soak_child(soak, Path(args.soak_child))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    wanted = set(args.only) if args.only else None
    plan = [
        ("card", lambda: card_section(args.quick, out), ["Card read"]),
        (
            "gate",
            lambda: gate_sections(args.travellers, out),
            ["Decision latency", "Software time per genuine traveller"],
        ),
        ("doors", lambda: door_section(args.quick, out), ["Door link"]),
        ("telemetry", lambda: telemetry_section(args.quick, out), ["Telemetry throughput"]),
        ("daemon", lambda: daemon_section(args.quick, out), ["Daemon time to READY and RSS"]),
        ("face", lambda: face_section(args.quick, out), ["Face pipeline"]),
        ("soak", lambda: soak_section(soak, out), [f"Soak of {soak} transactions"]),
    ]
    results: dict[str, list[dict]] = {}
    for name, work, titles in plan:
        if wanted is None or name in wanted:
            results[name] = measured(name, work, titles, exclusive=name in ("card", "gate", "daemon"))
    order = ("card", "face", "gate", "doors", "telemetry", "daemon", "soak")  # the order
    sections = [s for name in order for s in results.get(name, [])]
    command = "python -m benchmarks.report " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    report = {
        "title": "echannel benchmark report",
        "machine": machine.describe(),
        "when": f"{started:%Y-%m-%d %H:%M} UTC, {(dt.datetime.now(dt.UTC) - started).total_seconds() / 60:.0f} min, "
        f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "command": command.strip(),
        "notes": [
            "Every figure was measured in this run on this machine, which may be shared: read p95s as upper "
            "bounds. Goals are the ones of issue #8 and, where issue #8 names none, the part's own benchmark.",
        ],
        "sections": sections,
    }
    markdown = render(report)
    (out / "report.md").write_text(markdown)
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(markdown)
    print(f"written: {out / 'report.md'}, {out / 'report.json'} and the PNGs beside them", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
