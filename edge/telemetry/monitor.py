"""The control room's view of a site (pure): fed with every message under {prefix}/{site}/#, it keeps one
row per gate and renders a plain-text table. `echannel monitor` feeds it from MQTT and redraws it.

A gate is OFFLINE when its availability says so (last will or graceful stop; a will older than the current
birth is ignored, as in Sparkplug), and STALE when nothing has been heard from it for `stale_after_s`.
Events are de-duplicated by id (delivery is at least once).
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from edge.telemetry.topics import parse_topic

THROUGHPUT_WINDOW_S = 300.0


@dataclass
class GateView:
    gate: str
    availability: str = "unknown"
    bdseq: int = -1
    software: str = ""
    state: str = "?"
    mode: str = "?"
    doors: dict[str, str] = field(default_factory=dict)
    alarms: list[str] = field(default_factory=list)
    last_outcomes: deque[str] = field(default_factory=lambda: deque(maxlen=5))
    transaction_times: deque[float] = field(default_factory=deque)
    transactions: int = 0
    last_seen: float = 0.0
    last_seq: int = 0
    _recent_ids: deque[str] = field(default_factory=lambda: deque(maxlen=2000))

    def status(self, now: float, stale_after_s: float) -> str:
        if self.availability == "offline":
            return "OFFLINE"
        if now - self.last_seen > stale_after_s:
            return "STALE"
        return "online" if self.availability == "online" else self.availability

    def per_minute(self, now: float) -> float:
        while self.transaction_times and self.transaction_times[0] < now - THROUGHPUT_WINDOW_S:
            self.transaction_times.popleft()
        return len(self.transaction_times) * 60.0 / THROUGHPUT_WINDOW_S


@dataclass(frozen=True)
class AlarmLine:
    at: float
    gate: str
    kind: str
    active: bool
    reason: str


class FleetView:
    def __init__(self, prefix: str, site: str, stale_after_s: float = 90.0) -> None:
        self.prefix, self.site, self.stale_after_s = prefix, site, stale_after_s
        self.gates: dict[str, GateView] = {}
        self.alarm_log: deque[AlarmLine] = deque(maxlen=10)
        self.responses: deque[dict[str, Any]] = deque(maxlen=5)
        self.ignored = 0  # messages that were not ours or not JSON

    def feed(self, topic: str, payload: bytes, now: float) -> None:
        parsed = parse_topic(self.prefix, topic)
        if parsed is None or parsed[0] != self.site:
            self.ignored += 1
            return
        try:
            message = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            self.ignored += 1
            return
        if not isinstance(message, dict):
            self.ignored += 1
            return
        _, gate_id, kind = parsed
        gate = self.gates.setdefault(gate_id, GateView(gate_id))
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            try:
                handler(gate, message, now)
            except (TypeError, ValueError, AttributeError):  # a field of the wrong type: skip the message
                self.ignored += 1

    def _on_availability(self, gate: GateView, message: dict[str, Any], now: float) -> None:
        bdseq = int(message.get("bdseq", -1))
        if message.get("status") == "offline" and bdseq < gate.bdseq:
            return  # the late will of an older session
        gate.bdseq = max(gate.bdseq, bdseq)
        gate.availability = str(message.get("status", "?"))
        gate.last_seen = now

    def _on_birth(self, gate: GateView, message: dict[str, Any], now: float) -> None:
        gate.bdseq = int(message.get("bdseq", gate.bdseq))
        gate.software = str(message.get("software", ""))
        gate.last_seen = now

    def _on_state(self, gate: GateView, message: dict[str, Any], now: float) -> None:
        gate.state = str(message.get("state", "?"))
        gate.mode = str(message.get("mode", "?"))
        gate.doors = {str(k): str(v) for k, v in dict(message.get("doors") or {}).items()}
        gate.alarms = [str(a) for a in message.get("alarms") or []]
        gate.last_seen = now

    def _on_events(self, gate: GateView, message: dict[str, Any], now: float) -> None:
        gate.last_seen = now
        event_id = str(message.get("id", ""))
        if event_id in gate._recent_ids:
            return
        gate._recent_ids.append(event_id)
        gate.last_seq = max(gate.last_seq, int(message.get("seq", 0)))
        if message.get("type") == "transaction":
            record = message.get("transaction") or {}
            gate.transactions += 1
            gate.transaction_times.append(now)
            gate.last_outcomes.append(f"{record.get('outcome', '?')}:{record.get('reason', '?')}")
        elif message.get("type") == "alarm":
            alarm = message.get("alarm") or {}
            self.alarm_log.append(
                AlarmLine(
                    float(message.get("at", 0)),
                    gate.gate,
                    str(alarm.get("kind", "?")),
                    bool(alarm.get("active", True)),
                    str(alarm.get("reason", "")),
                )
            )

    def _on_metrics(self, gate: GateView, message: dict[str, Any], now: float) -> None:
        gate.last_seen = now

    def _on_responses(self, gate: GateView, message: dict[str, Any], now: float) -> None:
        self.responses.append(message)

    def render(self, now: float, color: bool = False) -> str:
        def paint(text: str, code: str) -> str:
            return f"\x1b[{code}m{text}\x1b[0m" if color else text

        statuses = {g: view.status(now, self.stale_after_s) for g, view in self.gates.items()}
        counts = {s: list(statuses.values()).count(s) for s in ("online", "OFFLINE", "STALE")}
        lines = [
            f"site {self.site} - {len(self.gates)} gates: {counts['online']} online, {counts['OFFLINE']} offline, "
            f"{counts['STALE']} stale - {_clock_text(now)}",
            f"{'GATE':<12} {'STATUS':<8} {'STATE':<16} {'MODE':<14} {'ENTRY':<8} {'EXIT':<8} {'TX':>6} "
            f"{'TX/MIN':>6}  {'ALARMS':<24} LAST OUTCOMES",
        ]
        for gate_id in sorted(self.gates):
            view = self.gates[gate_id]
            status = statuses[gate_id]
            shown = f"{status:<8}"
            if status != "online":
                shown = paint(shown, "1;31" if status == "OFFLINE" else "33")
            alarms = ",".join(view.alarms) or "-"
            alarms = paint(f"{alarms:<24}", "1;31") if view.alarms else f"{alarms:<24}"
            lines.append(
                f"{gate_id:<12} {shown} {view.state:<16} {view.mode:<14} {view.doors.get('entry', '?'):<8} "
                f"{view.doors.get('exit', '?'):<8} {view.transactions:>6} {view.per_minute(now):>6.1f}  {alarms} "
                f"{' '.join(view.last_outcomes) or '-'}"
            )
        if self.alarm_log:
            lines.append("")
            lines.append("recent alarms:")
            for alarm in reversed(self.alarm_log):
                when = _clock_text(alarm.at)
                state = "ACTIVE " if alarm.active else "cleared"
                lines.append(f"  {when} {alarm.gate:<12} {state} {alarm.kind} {alarm.reason}")
        return "\n".join(lines)


def _clock_text(at: float) -> str:
    try:
        return time.strftime("%H:%M:%S", time.localtime(at))
    except (OverflowError, OSError, ValueError):  # a gate's clock or payload gone wrong
        return "??:??:??"
