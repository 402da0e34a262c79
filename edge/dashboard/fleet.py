"""The control room's picture of a site's gates, built from their MQTT messages (pure: time passed in).

    fleet = Fleet()
    fleet.apply("hkg-lmc", "g07", "state", {"state": "referred", "alarms": ["referral"], ...}, now)
    fleet.take_changes()   # the tiles that changed since the last call, as JSON-ready dicts

The web server sends `take_changes()` to the browsers every 250 ms, so a burst from 200 gates costs one
message with only the tiles that changed, and the page touches only those tiles' DOM.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

# Alarms an officer must walk to (the tile turns red and the page beeps); others are shown, quietly.
OFFICER_ALARMS = frozenset(
    {"referral", "tailgating", "pad_alarm", "fire", "door_fault", "door_link_lost", "tamper", "gate_offline"}
)
THROUGHPUT_WINDOW_S = 900.0  # transactions per hour, measured over the last 15 minutes
_SEEN_EVENT_IDS = 64  # events arrive at least once: remember this many ids per gate to drop duplicates


@dataclass
class Tile:
    site: str
    gate: str
    availability: str = "unknown"  # online | offline | unknown (nothing heard yet)
    bdseq: int | None = None
    state: str = "unknown"
    mode: str = "unknown"
    doors: dict[str, str] = field(default_factory=dict)
    alarms: set[str] = field(default_factory=set)
    last_outcome: dict[str, Any] | None = None
    transactions: int = 0
    recent: deque[float] = field(default_factory=deque)  # end times of transactions in the window
    response: dict[str, Any] | None = None
    pending: dict[str, str] = field(default_factory=dict)  # command id -> action, until answered
    state_at: float | None = None  # the gate's own timestamp of its last state (latency measurement)
    seen_ids: deque[str] = field(default_factory=lambda: deque(maxlen=_SEEN_EVENT_IDS))

    @property
    def key(self) -> str:
        return f"{self.site}/{self.gate}"

    def officer_alarms(self) -> list[str]:
        active = set(self.alarms)
        if self.availability == "offline":
            active.add("gate_offline")
        return sorted(active & OFFICER_ALARMS)

    def throughput_per_hour(self) -> float:
        return round(len(self.recent) * 3600.0 / THROUGHPUT_WINDOW_S, 1)

    def to_dict(self) -> dict[str, Any]:
        officer = self.officer_alarms()
        return {
            "id": self.key,
            "site": self.site,
            "gate": self.gate,
            "availability": self.availability,
            "state": self.state,
            "mode": self.mode,
            "doors": dict(self.doors),
            "alarms": sorted(self.alarms | ({"gate_offline"} if self.availability == "offline" else set())),
            "officer": officer,
            "needs_officer": bool(officer),
            "last_outcome": self.last_outcome,
            "transactions": self.transactions,
            "throughput_per_h": self.throughput_per_hour(),
            "response": self.response,
            "pending": sorted(self.pending.values()),
            "state_at": self.state_at,
        }


class Fleet:
    def __init__(self) -> None:
        self.tiles: dict[str, Tile] = {}
        self._changed: set[str] = set()
        self.messages = 0
        self.skipped = 0  # malformed or unexpected payloads (counted, never fatal)

    def tile(self, site: str, gate: str) -> Tile:
        key = f"{site}/{gate}"
        tile = self.tiles.get(key)
        if tile is None:
            tile = self.tiles[key] = Tile(site, gate)
            self._changed.add(key)
        return tile

    def apply(self, site: str, gate: str, kind: str, payload: dict[str, Any], now: float) -> bool:
        """Fold one message into the picture; True when the gate's tile changed."""
        self.messages += 1
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            return False
        tile = self.tile(site, gate)
        try:
            changed = handler(tile, payload, now)
        except (KeyError, TypeError, ValueError, AttributeError):
            self.skipped += 1
            return False
        if changed:
            self._changed.add(tile.key)
        return changed

    def sent(self, site: str, gate: str, command_id: str, action: str) -> None:
        """The dashboard sent a command: show it as pending until the gate answers."""
        tile = self.tile(site, gate)
        tile.pending[command_id] = action
        self._changed.add(tile.key)

    def expire(self, now: float) -> None:
        """Let transactions leave the throughput window (called by the server's ticker)."""
        for tile in self.tiles.values():
            if tile.recent and tile.recent[0] < now - THROUGHPUT_WINDOW_S:
                while tile.recent and tile.recent[0] < now - THROUGHPUT_WINDOW_S:
                    tile.recent.popleft()
                self._changed.add(tile.key)

    def take_changes(self) -> list[dict[str, Any]]:
        changed, self._changed = self._changed, set()
        return [self.tiles[key].to_dict() for key in sorted(changed)]

    def snapshot(self) -> list[dict[str, Any]]:
        return [tile.to_dict() for _, tile in sorted(self.tiles.items())]

    def summary(self) -> dict[str, int]:
        tiles = self.tiles.values()
        return {
            "gates": len(self.tiles),
            "online": sum(t.availability == "online" for t in tiles),
            "needing_officer": sum(bool(t.officer_alarms()) for t in tiles),
        }

    # --- one handler per topic kind -------------------------------------------------------------------------

    def _on_availability(self, tile: Tile, payload: dict[str, Any], now: float) -> bool:
        status = str(payload["status"])
        if status not in ("online", "offline"):
            raise ValueError(status)
        bdseq = payload.get("bdseq")
        # A late last will of an older session must not mark a gate that is back online as offline.
        stale_will = status == "offline" and tile.availability == "online" and tile.bdseq is not None
        if stale_will and isinstance(bdseq, int) and bdseq != tile.bdseq:
            return False
        tile.bdseq = bdseq if isinstance(bdseq, int) else tile.bdseq
        if tile.availability == status:
            return False
        tile.availability = status
        return True

    def _on_state(self, tile: Tile, payload: dict[str, Any], now: float) -> bool:
        tile.state = str(payload["state"])
        tile.mode = str(payload.get("mode", tile.mode))
        tile.doors = {str(k): str(v) for k, v in dict(payload.get("doors") or {}).items()}
        tile.alarms = {str(a) for a in payload.get("alarms") or []}
        tile.state_at = float(payload["at"]) if isinstance(payload.get("at"), int | float) else None
        if tile.availability == "unknown":
            tile.availability = "online"  # a retained state without availability yet: it spoke, so it was up
        return True

    def _on_events(self, tile: Tile, payload: dict[str, Any], now: float) -> bool:
        event_id = payload.get("id")
        if isinstance(event_id, str):
            if event_id in tile.seen_ids:
                return False
            tile.seen_ids.append(event_id)
        kind = payload.get("type")
        if kind == "transaction":
            record = payload["transaction"]
            ended = float(record.get("ended_at") or payload.get("at") or now)
            tile.last_outcome = {
                "outcome": str(record["outcome"]),
                "reason": str(record.get("reason", "")),
                "at": ended,
            }
            tile.transactions += 1
            tile.recent.append(now)
            return True
        if kind == "alarm":
            alarm = payload["alarm"]
            name = str(alarm["kind"])
            if alarm.get("active", True):
                tile.alarms.add(name)
            else:
                tile.alarms.discard(name)
            return True
        return False

    def _on_responses(self, tile: Tile, payload: dict[str, Any], now: float) -> bool:
        command_id = str(payload["command_id"])
        action = str(payload.get("action") or tile.pending.get(command_id, ""))
        tile.pending.pop(command_id, None)
        tile.response = {
            "command_id": command_id,
            "action": action,
            "accepted": bool(payload["accepted"]),
            "reason": str(payload.get("reason", "")),
            "at": payload.get("at", now),
        }
        return True
