"""The benchmark report's pure parts on fabricated figures: goal verdicts and the markdown (no measuring)."""

from __future__ import annotations

import math

from benchmarks.report_markdown import (
    MET,
    NOT_MEASURED,
    NOT_MET,
    all_met,
    goal,
    number,
    percentile,
    render,
    summary_rows,
    verdict,
)


def fabricated_report(*sections: dict) -> dict:
    return {
        "title": "echannel benchmark report",
        "machine": "machine: test box; CPU: imaginary; 2 cores",
        "when": "2026-01-01 00:00 UTC",
        "command": "python -m benchmarks.report --quick",
        "notes": ["fabricated figures"],
        "sections": list(sections),
    }


DECISION = {
    "key": "decision",
    "title": "Decision latency",
    "how": "timestamps around a simulated gate",
    "figures": [["last frame -> exit OPEN written, p50 / p95", "30 ms / 72 ms"]],
    "reference": "one frame's pipeline alone: 15 ms",
    "goals": [goal("decision latency p95", 72.0, 50, "ms")],
    "plot": "decision_latency.png",
}
TELEMETRY = {
    "key": "telemetry",
    "title": "Telemetry throughput",
    "figures": [["outbox flush", "9,000 events/s"]],
    "goals": [goal("outbox flush rate", 9000.0, 5000, "events/s", higher_is_better=True), goal("lost", 0, 0, "")],
}
FAILED = {"key": "card", "title": "Card read", "error": "RuntimeError: pcscd is busy", "goals": []}


def test_a_goal_is_met_at_its_limit_and_not_beyond_it():
    assert verdict(goal("latency", 50.0, 50, "ms")) == MET
    assert verdict(goal("latency", 50.1, 50, "ms")) == NOT_MET


def test_a_throughput_goal_is_met_from_below_the_other_way_round():
    assert verdict(goal("rate", 5000.0, 5000, "events/s", higher_is_better=True)) == MET
    assert verdict(goal("rate", 4999.0, 5000, "events/s", higher_is_better=True)) == NOT_MET


def test_a_figure_that_was_not_measured_never_counts_as_met():
    assert verdict(goal("latency", None, 50, "ms")) == NOT_MEASURED
    assert verdict(goal("latency", math.nan, 50, "ms")) == NOT_MEASURED


def test_percentiles_interpolate_and_nothing_has_none():
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 50) == 30.0
    assert percentile([0.0, 100.0], 95) == 95.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_numbers_are_short_and_carry_their_unit():
    assert number(1234.4, "ms") == "1,234 ms"
    assert number(44.62, "ms") == "44.6 ms"
    assert number(0.934, "ms") == "0.93 ms"
    assert number(3, "fds") == "3 fds"
    assert number(None, "ms") == "–"


def test_the_goals_table_lists_every_goal_with_its_verdict_and_bolds_failures():
    markdown = render(fabricated_report(DECISION, TELEMETRY))
    assert "| Decision latency | decision latency p95 | 72.0 ms | <= 50 ms | **NOT met** |" in markdown
    assert "| Telemetry throughput | outbox flush rate | 9,000 events/s | >= 5,000 events/s | met |" in markdown
    assert "2 of 3 goals met." in markdown


def test_each_section_shows_how_its_figures_reference_goal_and_plot():
    markdown = render(fabricated_report(DECISION))
    assert "## 1. Decision latency" in markdown
    assert "How: timestamps around a simulated gate" in markdown
    assert "| last frame -> exit OPEN written, p50 / p95 | 30 ms / 72 ms |" in markdown
    assert "Reference: one frame's pipeline alone: 15 ms" in markdown
    assert "- Goal: decision latency p95 <= 50 ms: measured 72.0 ms: **NOT met**" in markdown
    assert "![Decision latency](decision_latency.png)" in markdown


def test_the_machine_and_the_command_head_the_report():
    markdown = render(fabricated_report(TELEMETRY))
    assert markdown.startswith("# echannel benchmark report\n")
    assert "- machine: test box; CPU: imaginary; 2 cores" in markdown
    assert "- Command: `python -m benchmarks.report --quick`" in markdown


def test_a_failed_section_says_so_and_spoils_the_summary():
    report = fabricated_report(TELEMETRY, FAILED)
    markdown = render(report)
    assert "**Not measured:** RuntimeError: pcscd is busy" in markdown
    assert ("Card read", "(the section failed: see below)", "–", "–", NOT_MEASURED) in summary_rows(report)
    assert not all_met(report)
    assert all_met(fabricated_report(TELEMETRY))
