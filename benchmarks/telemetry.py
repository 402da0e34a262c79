"""Telemetry benchmarks against a private local mosquitto.

1. Outbox flush rate: N events are stored while the broker is unreachable, then the gate connects and the
   time until the outbox is empty (every event acknowledged by the broker) gives events/s; a control-room
   subscriber checks that every event arrived.
2. Fleet: G simulated gates (MqttTelemetry each, spread over worker processes) publish to one broker for
   --duration seconds at a realistic rate (one traveller per gate every ~15 s: state changes, a transaction
   record, sometimes an alarm; metrics every 10 s). A control-room subscriber counts what arrives; loss is
   checked per gate by sequence number; broker CPU comes from /proc/<pid>/stat.

    .venv/bin/python benchmarks/telemetry.py                    # 20,000 events; 200 gates for 60 s
    .venv/bin/python benchmarks/telemetry.py --events 50000 --gates 200 --duration 60 --json out.json
Goals: >= 5,000 events/s flush rate; no loss.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt

import edge.config  # noqa: F401  (before the settings module: it closes an import cycle otherwise)
from edge.gate.actions import PublishState, State
from edge.gate.records import Alarm, AlarmKind, FaceComparison, Outcome, TransactionRecord
from edge.telemetry.adapter import MqttTelemetry
from edge.telemetry.payloads import GateMetadata
from edge.telemetry.settings import TelemetrySettings
from simulators.mqtt_broker import MosquittoBroker

STATES = (
    State.READING_DOCUMENT,
    State.ENTRY_OPEN,
    State.IN_COMPARTMENT,
    State.VERIFYING_FACE,
    State.EXIT_OPEN,
    State.IDLE,
)


def machine_info() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.platform()}; {model}; {os.cpu_count()} cores; Python {platform.python_version()}"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def a_record(number: int) -> TransactionRecord:
    now = time.time()
    return TransactionRecord(
        f"txn-{number}",
        now - 14.2,
        now,
        Outcome.CLEARED,
        "ok",
        {
            "reading_document": 2300.0,
            "entry_open": 3100.0,
            "in_compartment": 2500.0,
            "verifying_face": 1900.0,
            "exit_open": 3800.0,
        },
        "TD3",
        "PACE",
        {"passive_authentication": "successful", "chip_authentication": "successful"},
        FaceComparison(0.68, 0.363, "match", 0.86, 0.04),
        2300.0,
        46,
    )


class Counter:
    """A control-room subscriber in its own process (the control room is not on the gate, and a subscriber
    in the gate's process would compete for its interpreter lock): counts messages, and events per gate by
    seq, so loss and duplicates can be told apart."""

    def __init__(self, port: int, topic: str = "echannel/v1/#") -> None:
        self._events = multiprocessing.Value("q", 0)
        self._stop = multiprocessing.Event()
        ready = multiprocessing.Event()
        self._results: multiprocessing.Queue = multiprocessing.Queue()
        self._process = multiprocessing.Process(
            target=_count, args=(port, topic, self._events, ready, self._stop, self._results), daemon=True
        )
        self._process.start()
        if not ready.wait(10):
            raise RuntimeError("the control-room subscriber did not connect")
        self.messages = 0
        self.duplicates = 0
        self.seqs: dict[str, set[int]] = {}

    def events(self) -> int:
        return int(self._events.value)

    def stop(self) -> None:
        self._stop.set()
        result = self._results.get(timeout=30)
        self._process.join(10)
        self.messages, self.duplicates = result["messages"], result["duplicates"]
        self.seqs = {gate: set(seqs) for gate, seqs in result["seqs"].items()}


def _count(port, topic, events, ready, stop, results) -> None:
    seqs: dict[str, set[int]] = defaultdict(set)
    totals = {"messages": 0, "duplicates": 0}

    def on_message(client, userdata, message) -> None:
        totals["messages"] += 1
        if message.topic.endswith("/events"):
            event = json.loads(message.payload)
            gate_seqs = seqs[event["gate"]]
            if event["seq"] in gate_seqs:
                totals["duplicates"] += 1
            else:
                gate_seqs.add(event["seq"])
                events.value += 1

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.on_subscribe = lambda c, u, mid, rc, p: ready.set()
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    stop.wait()
    client.loop_stop()
    client.disconnect()
    results.put({**totals, "seqs": {gate: sorted(s) for gate, s in seqs.items()}})


def flush_rate(events: int, workdir: Path, protocol: str = "5") -> dict:
    with MosquittoBroker(workdir / "flush-broker") as broker:
        outbox = str(workdir / "flush.sqlite3")
        settings = TelemetrySettings(
            broker=broker.url, outbox=outbox, outbox_max_events=max(100, events * 2), protocol=protocol
        )
        filler = MqttTelemetry(settings, "bench", "g1", GateMetadata("bench"))  # never started: stores only
        record = a_record(0)
        started = time.perf_counter()
        for _ in range(events):
            filler.publish_record(record)
        append_s = time.perf_counter() - started
        filler.stop()

        counter = Counter(broker.port, "echannel/v1/bench/g1/events")
        gate = MqttTelemetry(settings, "bench", "g1", GateMetadata("bench"))
        started = time.perf_counter()
        gate.start()
        gate.wait_connected(10)
        connected = time.perf_counter()
        while gate.store.pending() and time.perf_counter() - started < 300:
            time.sleep(0.005)
        flushed = time.perf_counter()
        deadline = time.monotonic() + 30
        while counter.events() < events and time.monotonic() < deadline:
            time.sleep(0.05)
        gate.stop()
        counter.stop()
        received = counter.events()
        return {
            "events": events,
            "append_per_s": round(events / append_s),
            "flush_s": round(flushed - connected, 3),
            "flush_per_s": round(events / (flushed - connected)),
            "received": received,
            "lost": events - received,
            "duplicates": counter.duplicates,
        }


def fleet_worker(
    broker_url: str,
    gate_ids: list[str],
    duration: float,
    per_minute: float,
    workdir: str,
    results: multiprocessing.Queue,
) -> None:
    rng = random.Random(hash(gate_ids[0]))
    gates = []
    for gate_id in gate_ids:
        settings = TelemetrySettings(
            broker=broker_url, outbox=f"{workdir}/{gate_id}.sqlite3", metrics_interval_s=10.0, reconnect_max_s=5
        )
        telemetry = MqttTelemetry(settings, "fleet", gate_id, GateMetadata("bench"))
        telemetry.start()
        gates.append(telemetry)
    for telemetry in gates:
        telemetry.wait_connected(20)
    doors = {"entry": "closed", "exit": "closed"}
    mean_gap = 60.0 / per_minute
    step_gap = min(2.0, mean_gap / 12)  # a traveller's steps take about 2 s each, faster in a stress run
    start = time.monotonic()
    next_traveller = [start + rng.uniform(0, mean_gap) for _ in gates]
    next_metrics = [start + rng.uniform(0, 10) for _ in gates]
    step = [0] * len(gates)
    stored = states = metrics = travellers = 0
    while time.monotonic() - start < duration:
        now = time.monotonic()
        for index, telemetry in enumerate(gates):
            if now >= next_traveller[index]:
                # one traveller: a state change per step (spread over the next gap), then the record
                state = STATES[step[index]]
                telemetry.publish_state(PublishState(state, "txn", (), "in_service"), doors)
                states += 1
                step[index] = (step[index] + 1) % len(STATES)
                if state is State.IDLE:
                    telemetry.publish_record(a_record(stored))
                    stored += 1
                    travellers += 1
                    if rng.random() < 0.05:
                        telemetry.publish_alarm(Alarm(AlarmKind.REFERRAL, time.time(), "face_mismatch", "txn"))
                        stored += 1
                    next_traveller[index] = now + rng.expovariate(1.0 / mean_gap)
                else:
                    next_traveller[index] = now + step_gap
            if now >= next_metrics[index]:
                telemetry.publish_metrics()
                metrics += 1
                next_metrics[index] = now + 10.0
        time.sleep(0.02)
    deadline = time.monotonic() + 30
    while any(t.store.pending() for t in gates) and time.monotonic() < deadline:
        time.sleep(0.05)
    pending = sum(t.store.pending() for t in gates)
    sent = {g: t.store.last_seq() for g, t in zip(gate_ids, gates, strict=True)}
    for telemetry in gates:
        telemetry.stop()
    published = sum(t.counters["messages_published"] + t.counters["events_sent"] for t in gates)
    results.put(
        {
            "travellers": travellers,
            "stored": stored,
            "states": states,
            "metrics": metrics,
            "pending": pending,
            "last_seq": sent,
            "published": published,
        }
    )


def fleet(gates: int, duration: float, per_minute: float, workers: int, workdir: Path) -> dict:
    with MosquittoBroker(workdir / "fleet-broker") as broker:
        counter = Counter(broker.port)
        cpu_before, wall_before = cpu_seconds(broker.pid), time.monotonic()
        ids = [f"gate-{n:03d}" for n in range(gates)]
        results: multiprocessing.Queue = multiprocessing.Queue()
        processes = [
            multiprocessing.Process(
                target=fleet_worker, args=(broker.url, ids[w::workers], duration, per_minute, str(workdir), results)
            )
            for w in range(workers)
        ]
        for process in processes:
            process.start()
        reports = [results.get(timeout=duration + 120) for _ in processes]
        for process in processes:
            process.join(30)
        cpu_after, wall_after = cpu_seconds(broker.pid), time.monotonic()
        time.sleep(1.0)
        counter.stop()
    expected = {g: s for r in reports for g, s in r["last_seq"].items()}
    lost = sum(len(set(range(1, last + 1)) - counter.seqs.get(g, set())) for g, last in expected.items())
    events = sum(expected.values())
    sent = sum(r["published"] for r in reports)
    return {
        "gates": gates,
        "duration_s": duration,
        "travellers_per_gate_per_min": per_minute,
        "travellers_per_gate_per_min_achieved": round(sum(r["travellers"] for r in reports) * 60 / duration / gates, 2),
        "messages_per_s": round(sum(r["published"] for r in reports) / duration),
        "events_stored": events,
        "events_received_unique": counter.events(),
        "events_lost": lost,
        "event_duplicates": counter.duplicates,
        "state_messages": sum(r["states"] for r in reports),
        "metrics_messages": sum(r["metrics"] for r in reports),
        "messages_sent": sent,
        "messages_received": counter.messages,
        "left_in_outboxes": sum(r["pending"] for r in reports),
        "broker_cpu_percent": round(100 * (cpu_after - cpu_before) / (wall_after - wall_before), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000, help="events for the flush-rate run (20000)")
    parser.add_argument("--gates", type=int, default=200, help="simulated gates in the fleet run (200)")
    parser.add_argument("--duration", type=float, default=60.0, help="fleet run length in seconds (60)")
    parser.add_argument("--rate", type=float, default=4.0, help="travellers per gate per minute (4)")
    parser.add_argument("--workers", type=int, default=4, help="processes hosting the gates (4)")
    parser.add_argument("--protocol", default="5", choices=("5", "3.1.1"), help="MQTT version for the flush run")
    parser.add_argument("--skip-flush", action="store_true")
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    args = parser.parse_args()
    print(f"machine: {machine_info()}")
    results: dict = {"machine": machine_info()}
    with tempfile.TemporaryDirectory(prefix="echannel-bench-") as tmp:
        workdir = Path(tmp)
        if not args.skip_flush:
            flush = flush_rate(args.events, workdir, args.protocol)
            results["flush"] = flush
            print(
                f"outbox (MQTT {args.protocol}): stored {flush['events']} events at {flush['append_per_s']}/s; "
                f"flushed to mosquitto in "
                f"{flush['flush_s']} s = {flush['flush_per_s']} events/s; received {flush['received']}, "
                f"lost {flush['lost']}, duplicates {flush['duplicates']}"
            )
        if not args.skip_fleet:
            result = fleet(args.gates, args.duration, args.rate, args.workers, workdir)
            results["fleet"] = result
            print(
                f"fleet: {result['gates']} gates x {result['duration_s']:g} s, "
                f"{result['travellers_per_gate_per_min_achieved']:g} travellers/gate/min "
                f"({result['messages_per_s']} messages/s): "
                f"events stored {result['events_stored']}, received {result['events_received_unique']}, "
                f"lost {result['events_lost']}, duplicates {result['event_duplicates']}; messages sent "
                f"{result['messages_sent']}, received {result['messages_received']}; "
                f"broker CPU {result['broker_cpu_percent']}%"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
