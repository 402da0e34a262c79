"""A stand-in gate daemon for the outage and last-will tests: MqttTelemetry publishing one transaction
record every --interval seconds, numbered from --first. Prints "stored N" (flushed) after each record is in
the outbox, so the test knows what must eventually arrive. Run: python tests/telemetry/gate_publisher.py ..."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import edge.config  # noqa: F401  (before the settings module: see conftest)
from edge.gate.records import Outcome, TransactionRecord
from edge.telemetry.adapter import MqttTelemetry
from edge.telemetry.payloads import GateMetadata
from edge.telemetry.settings import TelemetrySettings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--outbox", required=True)
    parser.add_argument("--site", default="s1")
    parser.add_argument("--gate", default="g1")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()
    settings = TelemetrySettings(broker=args.broker, outbox=args.outbox, reconnect_max_s=1.0)
    telemetry = MqttTelemetry(settings, args.site, args.gate, GateMetadata("test"))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    telemetry.start()
    for number in range(args.first, args.first + args.count):
        if done.is_set():
            break
        now = time.time()
        telemetry.publish_record(TransactionRecord(f"txn-{number:06d}", now - 10, now, Outcome.CLEARED, "ok"))
        print(f"stored {number}", flush=True)
        done.wait(args.interval)
    done.wait()
    telemetry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
