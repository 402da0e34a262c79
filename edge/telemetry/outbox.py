"""The durable outbox: every event is written to SQLite before it is published and deleted only when the
broker has acknowledged it (PUBACK), so events survive broker outages and daemon restarts.

Two parts:
- `OutboxFlow` and `FillLevel`: pure bookkeeping (which stored events are in flight under which MQTT message
  id, how many may be in flight, when the outbox is nearly full). No I/O, no clock.
- `OutboxStore`: the SQLite file (WAL). Rows get an AUTOINCREMENT key that is the gate's event sequence
  number, so numbering never restarts even when the outbox empties; the replay memory of commands and the
  birth/death counter live in the same file so one file is the gate's whole telemetry state.

Delivery is at least once: after a crash, events that were acknowledged but whose deletion had not yet been
committed are sent again with the same id and seq, and receivers de-duplicate by id. Order per gate is
kept because the sender hands events to the client in seq order, the client (paho) retransmits its
in-flight window in the same order after a reconnect and the sender hands over nothing newer until that
window is acknowledged; a new process starts again from the oldest row.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    event_id: str
    kind: str  # "transaction" | "alarm"
    at: float
    body: str  # JSON of the record or alarm


class OutboxFlow:
    """Which events are in flight. `window` bounds the MQTT messages awaiting PUBACK (the broker's
    Receive Maximum for MQTT 5); the sender asks `room()` before handing over more."""

    def __init__(self, window: int) -> None:
        self.window = max(1, window)
        self.cursor = 0  # highest seq handed to the client
        self._in_flight: OrderedDict[int, int] = OrderedDict()  # mid -> seq

    def room(self) -> int:
        return max(0, self.window - len(self._in_flight))

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def sent(self, mid: int, seq: int) -> None:
        self._in_flight[mid] = seq
        self.cursor = max(self.cursor, seq)

    def acked(self, mid: int) -> int | None:
        """The seq the broker just acknowledged, or None when `mid` was not an outbox event."""
        return self._in_flight.pop(mid, None)


class FillLevel:
    """Raises the nearly-full alarm at `alarm_fraction` of capacity and clears it below `clear_fraction`
    (hysteresis, so a level hovering at the threshold does not flap)."""

    def __init__(self, capacity: int, alarm_fraction: float = 0.8, clear_fraction: float = 0.7) -> None:
        self.capacity = capacity
        self.alarm_at = int(capacity * alarm_fraction)
        self.clear_below = int(capacity * clear_fraction)
        self.alarm = False

    def admit(self, pending: int) -> bool:
        """May one more event be stored? False when the outbox is full (the event is refused and counted)."""
        return pending < self.capacity

    def update(self, pending: int) -> bool | None:
        """New alarm state when it changes (True raised, False cleared), None when unchanged."""
        if not self.alarm and pending >= self.alarm_at:
            self.alarm = True
            return True
        if self.alarm and pending < self.clear_below:
            self.alarm = False
            return False
        return None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen_commands (command_id TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class OutboxStore:
    """The SQLite file. Thread-safe (one connection behind a lock): the daemon appends, the sender
    reads and deletes. Commits are not fsynced in WAL mode with synchronous=NORMAL; a power cut may lose
    the last commits but never corrupts the file (SQLite's documented WAL guarantee)."""

    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._pending = self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    # --- events ---

    def append(self, event_id: str, kind: str, at: float, body: str) -> int:
        """Store one event; returns its seq. Committed before it returns."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO events (event_id, kind, at, body) VALUES (?, ?, ?, ?)", (event_id, kind, at, body)
            )
            self._pending += 1
            return int(cursor.lastrowid or 0)

    def after(self, seq: int, limit: int) -> list[StoredEvent]:
        """The oldest stored events with a seq greater than `seq`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, kind, at, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
            ).fetchall()
        return [StoredEvent(*row) for row in rows]

    def delete(self, seqs: list[int]) -> None:
        if not seqs:
            return
        with self._lock:
            self._db.execute("BEGIN")
            deleted = 0
            for chunk in range(0, len(seqs), 500):
                part = seqs[chunk : chunk + 500]
                marks = ",".join("?" * len(part))
                deleted += self._db.execute(f"DELETE FROM events WHERE seq IN ({marks})", part).rowcount
            self._db.execute("COMMIT")
            self._pending -= deleted

    def pending(self) -> int:
        return self._pending

    def last_seq(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return int(row[0]) if row else 0

    # --- counters (birth/death sequence) ---

    def next_counter(self, name: str) -> int:
        """Increment and return a persisted counter (0 the first time)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            value = 0 if row is None else int(row[0]) + 1
            self._db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (name, value))
            self._db.execute("COMMIT")
            return value

    # --- command replay memory ---

    def remember_command(self, command_id: str, expires_at: float, now: float) -> bool:
        """Record a command id; False if it was already there (a replay). Forgets expired ids: an expired
        command is rejected for its expiry, so its id need not be kept."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM seen_commands WHERE expires_at < ?", (now,))
            try:
                self._db.execute(
                    "INSERT INTO seen_commands (command_id, expires_at) VALUES (?, ?)", (command_id, expires_at)
                )
                fresh = True
            except sqlite3.IntegrityError:
                fresh = False
            self._db.execute("COMMIT")
            return fresh

    def seen_command(self, command_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM seen_commands WHERE command_id = ?", (command_id,)).fetchone()
        return row is not None

    def close(self) -> None:
        with self._lock:
            self._db.close()
