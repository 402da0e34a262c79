"""Metrics: counts and durations per interval, system figures; nothing personal."""

from __future__ import annotations

from edge.gate.records import Outcome, TransactionRecord
from edge.metrics import SystemProbe, TransactionMetrics


def record(outcome: Outcome, reason: str, read_ms: float) -> TransactionRecord:
    return TransactionRecord("t", 0.0, 1.0, outcome, reason, steps_ms={"reading_document": read_ms})


def test_transaction_metrics_count_outcomes_and_summarise_steps_per_interval():
    metrics = TransactionMetrics()
    for ms in (80.0, 90.0, 100.0, 400.0):
        metrics.add(record(Outcome.CLEARED, "ok", ms))
    metrics.add(record(Outcome.REFERRED, "face_mismatch", 85.0))
    snap = metrics.snapshot()
    assert snap["transactions"] == 5 and snap["transactions_total"] == 5
    assert snap["outcomes"] == {"cleared": 4, "referred": 1}
    assert snap["reasons"] == {"ok": 4, "face_mismatch": 1}
    assert snap["steps_ms"]["reading_document"] == {"n": 5, "p50": 90.0, "p95": 400.0}
    after = metrics.snapshot()
    assert after["transactions"] == 0 and after["transactions_total"] == 5


def test_system_probe_reports_memory_and_tolerates_a_missing_thermal_zone(tmp_path):
    sample = SystemProbe(thermal_zone=tmp_path / "absent").sample()
    assert sample["temperature_c"] is None
    assert sample["rss_mb"] > 10
    assert sample["open_fds"] > 0
    zone = tmp_path / "temp"
    zone.write_text("48250\n")
    assert SystemProbe(thermal_zone=zone).sample()["temperature_c"] == 48.25
