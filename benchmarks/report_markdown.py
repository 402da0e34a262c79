"""The benchmark report's pure parts: percentiles, goal verdicts, and the markdown. No I/O, no measuring.

A report is plain data (what benchmarks/report.py measured, also written as report.json):

    {"title": str, "machine": str, "when": str, "command": str, "notes": [str],
     "sections": [{"key", "title", "how", "figures": [[label, value]], "goals": [goal], "reference": str | None,
                   "plot": "file.png" | None, "error": str | None}]}
    goal = {"what": str, "value": float | None, "limit": float, "unit": str, "higher_is_better": bool}

A goal whose value is None was not measured (its section failed or was skipped): it is never counted as met.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MET, NOT_MET, NOT_MEASURED = "met", "NOT met", "not measured"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def goal(what: str, value: float | None, limit: float, unit: str, *, higher_is_better: bool = False) -> dict:
    return {"what": what, "value": value, "limit": limit, "unit": unit, "higher_is_better": higher_is_better}


def verdict(g: dict) -> str:
    value = g["value"]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_MEASURED
    ok = value >= g["limit"] if g["higher_is_better"] else value <= g["limit"]
    return MET if ok else NOT_MET


def number(value: float | None, unit: str = "") -> str:
    """A figure for people: few digits, its unit, and an en dash for nothing measured."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int):
        return f"{value:,} {unit}".strip()
    magnitude = abs(value)
    text = f"{value:,.0f}" if magnitude >= 100 else f"{value:.1f}" if magnitude >= 10 else f"{value:.2f}"
    return f"{text} {unit}".strip()


def goal_text(g: dict) -> str:
    sign = ">=" if g["higher_is_better"] else "<="
    return f"{sign} {number(g['limit'], g['unit'])}"


def summary_rows(report: dict) -> list[tuple[str, str, str, str, str]]:
    """(section, what, measured, goal, verdict) for every goal of every section."""
    rows = []
    for section in report["sections"]:
        if section.get("error"):
            rows.append((section["title"], "(the section failed: see below)", "–", "–", NOT_MEASURED))
        for g in section.get("goals", []):
            rows.append((section["title"], g["what"], number(g["value"], g["unit"]), goal_text(g), verdict(g)))
    return rows


def all_met(report: dict) -> bool:
    return all(row[4] == MET for row in summary_rows(report))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def render(report: dict) -> str:
    lines = [f"# {report.get('title', 'echannel benchmark report')}", ""]
    lines += [f"- {report['machine']}", f"- Run: {report['when']}", f"- Command: `{report['command']}`"]
    lines += [f"- {note}" for note in report.get("notes", [])]
    lines += ["", "## Goals", ""]
    rows = summary_rows(report)
    lines += _table(("section", "goal", "measured", "limit", "verdict"), [_bold_failures(r) for r in rows])
    met = sum(r[4] == MET for r in rows)
    lines += ["", f"{met} of {len(rows)} goals met."]
    for number_, section in enumerate(report["sections"], 1):
        lines += ["", f"## {number_}. {section['title']}", ""]
        if section.get("how"):
            lines += [f"How: {section['how']}", ""]
        if section.get("error"):
            lines += [f"**Not measured:** {section['error']}", ""]
        if section.get("figures"):
            lines += _table(("figure", "value"), section["figures"])
            lines += [""]
        if section.get("reference"):
            lines += [f"Reference: {section['reference']}", ""]
        for g in section.get("goals", []):
            lines += [f"- Goal: {g['what']} {goal_text(g)}: measured {number(g['value'], g['unit'])}: **{verdict(g)}**"]
        if section.get("plot"):
            lines += ["", f"![{section['title']}]({section['plot']})"]
    return "\n".join(lines).rstrip() + "\n"


def _bold_failures(row: tuple[str, str, str, str, str]) -> tuple[str, ...]:
    return row if row[4] == MET else (*row[:4], f"**{row[4]}**")
