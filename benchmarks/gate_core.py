"""How fast the pure gate core decides: events per second and the cost of one whole transaction.

    .venv/bin/python -m benchmarks.gate_core

Reference in the same run: the same events through a bare dict dispatch that does nothing (the floor any
Python event handler pays); the core's own work is the difference.
"""

from __future__ import annotations

import statistics
import time

from benchmarks.machine import describe
from edge.gate import events as ev
from edge.gate.events import Door, DoorPosition
from edge.gate.machine import Gate

TRANSACTION = [
    ev.DocumentPresented(),
    ev.DocumentAuthenticated(protocol="PACE", document_type="TD3"),
    ev.DoorStateChanged(Door.ENTRY, DoorPosition.OPEN),
    ev.EntryPassage(),
    ev.DoorStateChanged(Door.ENTRY, DoorPosition.CLOSED),
    ev.FaceVerified(score=0.7, threshold=0.363),
    ev.DoorStateChanged(Door.EXIT, DoorPosition.OPEN),
    ev.ExitPassage(),
    ev.DoorStateChanged(Door.EXIT, DoorPosition.CLOSED),
]


def run(transactions: int = 20_000) -> None:
    print(describe())
    gate = Gate(new_id=lambda: "t")
    now = 0.0
    gate.start(now)
    gate.handle(ev.DoorStateChanged(Door.ENTRY, DoorPosition.CLOSED), now)
    gate.handle(ev.DoorStateChanged(Door.EXIT, DoorPosition.CLOSED), now)
    per_txn: list[float] = []
    for _ in range(transactions):
        t0 = time.perf_counter()
        for event in TRANSACTION:
            now += 0.1
            gate.handle(event, now)
        per_txn.append(time.perf_counter() - t0)
    total = sum(per_txn)
    events = transactions * len(TRANSACTION)
    bare = {type(event): (lambda event, now: None) for event in TRANSACTION}
    t0 = time.perf_counter()
    for _ in range(transactions):
        for event in TRANSACTION:
            now += 0.1
            bare[type(event)](event, now)
    reference = time.perf_counter() - t0
    print(f"transactions: {transactions}, events: {events}")
    print(f"core: {events / total:,.0f} events/s; one transaction p50 "
          f"{statistics.median(per_txn) * 1e6:.0f} us, p95 {statistics.quantiles(per_txn, n=20)[18] * 1e6:.0f} us")
    print(f"reference (bare dispatch of the same events): {reference / transactions * 1e6:.1f} us per transaction")


if __name__ == "__main__":
    run()
