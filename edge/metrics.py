"""Figures for the control room's periodic metrics: transactions and outcomes, step latencies, device
health, and the gate computer's CPU, memory and temperature. No personal data: counts and durations only."""

from __future__ import annotations

import os
import resource
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from edge.gate.records import TransactionRecord


@dataclass
class TransactionMetrics:
    """Accumulates records between two metrics messages (pure: fed records, asked for a snapshot)."""

    outcomes: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    steps_ms: dict[str, list[float]] = field(default_factory=dict)
    total: int = 0

    def add(self, record: TransactionRecord) -> None:
        self.total += 1
        self.outcomes[record.outcome.value] = self.outcomes.get(record.outcome.value, 0) + 1
        self.reasons[record.reason] = self.reasons.get(record.reason, 0) + 1
        for step, ms in record.steps_ms.items():
            self.steps_ms.setdefault(step, []).append(ms)

    def snapshot(self, reset: bool = True) -> dict:
        snap = {
            "transactions": sum(self.outcomes.values()),
            "transactions_total": self.total,
            "outcomes": dict(self.outcomes),
            "reasons": dict(self.reasons),
            "steps_ms": {step: _summary(values) for step, values in self.steps_ms.items()},
        }
        if reset:
            self.outcomes.clear()
            self.reasons.clear()
            self.steps_ms.clear()
        return snap


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(values), "p50": round(statistics.median(ordered), 1), "p95": round(p95, 1)}


class SystemProbe:
    """CPU share of this process since the last call, its memory, and the board's temperature."""

    def __init__(self, thermal_zone: Path = Path("/sys/class/thermal/thermal_zone0/temp")) -> None:
        self.thermal_zone = thermal_zone
        self._last = (time.monotonic(), time.process_time())

    def sample(self) -> dict[str, float | None]:
        now, cpu = time.monotonic(), time.process_time()
        wall = now - self._last[0]
        share = (cpu - self._last[1]) / wall * 100 if wall > 0 else 0.0
        self._last = (now, cpu)
        return {
            "cpu_percent": round(share, 1),
            "rss_mb": round(_rss_bytes() / 2**20, 1),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "open_fds": _open_fds(),
            "load_1m": round(os.getloadavg()[0], 2),
            "temperature_c": self._temperature(),
        }

    def _temperature(self) -> float | None:
        try:
            return int(self.thermal_zone.read_text().strip()) / 1000
        except (OSError, ValueError):
            return None  # not every board (or container) exposes one


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1
