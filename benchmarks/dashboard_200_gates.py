"""How fast the control room's dashboard follows 200 gates: MQTT message -> tile's DOM change, p50/p95/max.

    .venv/bin/python benchmarks/dashboard_200_gates.py [--gates 200] [--seconds 10] [--rate 2]

Starts a private mosquitto, the dashboard server and a headless Chromium (Debian's), then makes every gate
publish a new state `rate` times a second for `seconds`. Each state carries the publisher's clock (`at`);
the page notes Date.now() - at when it writes the tile, so the figure covers broker, paho, the 250 ms
batching tick, SSE and the DOM update.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.dashboard.server import TICK_S, Dashboard
from simulators.processes import free_port
from tests.screens.harness import Browser, LoopThread, Mosquitto
from tests.screens.mqtt_gate import connect, state_payload

STATES = ("idle", "reading_document", "entry_open", "in_compartment", "verifying_face", "exit_open")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2.0, help="state changes per gate per second")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        broker = Mosquitto(Path(scratch)).start()
        loop = LoopThread()
        browser = Browser(1600, 1000)
        try:
            dashboard = Dashboard(broker.url, "bench")
            port = free_port()
            server = loop.spawn(dashboard.run("127.0.0.1", port))
            time.sleep(0.3)
            browser.driver.get(f"http://127.0.0.1:{port}/")
            browser.wait_for("return window.__updates >= 1", what="the first snapshot")
            client = connect(broker.port, "bench-fleet")
            gates = [f"gate-{n:03d}" for n in range(1, args.gates + 1)]
            # First appearance builds the tiles; measure only the steady state after it.
            for gate in gates:
                client.publish(
                    f"echannel/v1/bench/{gate}/state",
                    json.dumps(state_payload("idle", "in_service", [], {"entry": "closed", "exit": "closed"})).encode(),
                    qos=1,
                )
            browser.wait_for(f"return document.querySelectorAll('.tile').length === {args.gates}", timeout=30)
            browser.js("window.__latency = []; window.__updates = 0;")
            sent, round_index, interval = 0, 0, 1.0 / args.rate
            started = time.monotonic()
            while time.monotonic() - started < args.seconds:
                round_start = time.monotonic()
                state = STATES[round_index % len(STATES)]
                for gate in gates:
                    payload = state_payload(state, "in_service", [], {"entry": "closed", "exit": "closed"})
                    client.publish(f"echannel/v1/bench/{gate}/state", json.dumps(payload).encode(), qos=0)
                    sent += 1
                round_index += 1
                time.sleep(max(0.0, interval - (time.monotonic() - round_start)))
            browser.wait_for(
                "return [...document.querySelectorAll('.tile')].every(t => t.dataset.state === arguments[0])",
                STATES[(round_index - 1) % len(STATES)],
                timeout=10,
                what="the last round on every tile",
            )
            latencies = browser.js("return window.__latency")
            updates = browser.js("return window.__updates")
            client.disconnect()
            client.loop_stop()
            server.cancel()
        finally:
            browser.quit()
            loop.stop()
            broker.stop()

    print(
        f"dashboard: {args.gates} gates, {sent} state messages in {args.seconds:.0f} s "
        f"({sent / args.seconds:.0f}/s), batching tick {TICK_S * 1000:.0f} ms"
    )
    print(f"tile updates measured: {len(latencies)}; page messages: {updates} ({updates / args.seconds:.1f}/s)")
    print(
        f"MQTT publish -> DOM change: p50 {percentile(latencies, 50):.0f} ms, p95 {percentile(latencies, 95):.0f} ms, "
        f"max {max(latencies):.0f} ms"
    )
    print(
        f"machine: {platform.platform()}; CPU {cpu_model()}; {os.cpu_count()} cores; Python {platform.python_version()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
