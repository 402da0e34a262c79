"""The durable outbox: pure in-flight bookkeeping, the fill alarm, and the SQLite store."""

from __future__ import annotations

from pathlib import Path

from edge.telemetry.outbox import FillLevel, OutboxFlow, OutboxStore


def test_flow_limits_events_in_flight_and_maps_acks_to_seqs() -> None:
    flow = OutboxFlow(window=2)
    assert flow.room() == 2
    flow.sent(mid=7, seq=1)
    flow.sent(mid=8, seq=2)
    assert flow.room() == 0 and flow.cursor == 2
    assert flow.acked(7) == 1
    assert flow.acked(99) is None  # a state or birth message, not an outbox event
    assert flow.room() == 1


def test_fill_level_alarms_before_full_and_clears_with_hysteresis() -> None:
    level = FillLevel(100, alarm_fraction=0.8, clear_fraction=0.7)
    assert level.update(79) is None
    assert level.update(80) is True and level.alarm
    assert level.update(75) is None  # still above the clear level: no flapping
    assert level.update(69) is False and not level.alarm
    assert level.admit(99) and not level.admit(100)


def test_store_keeps_events_in_order_until_deleted_and_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    store = OutboxStore(path)
    seqs = [store.append(f"id-{i}", "transaction", float(i), "{}") for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    store.delete([1, 2])
    store.close()

    reopened = OutboxStore(path)
    assert reopened.pending() == 3
    assert [row.seq for row in reopened.after(0, 10)] == [3, 4, 5]
    assert [row.event_id for row in reopened.after(3, 10)] == ["id-3", "id-4"]
    assert reopened.path.with_name("outbox.sqlite3-wal").exists()  # WAL mode


def test_sequence_numbers_never_restart_even_when_the_outbox_empties(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite3")
    first = store.append("a", "alarm", 1.0, "{}")
    store.delete([first])
    store.close()
    store = OutboxStore(tmp_path / "o.sqlite3")
    assert store.append("b", "alarm", 2.0, "{}") == first + 1
    assert store.last_seq() == first + 1


def test_birth_death_counter_is_persisted(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite3")
    assert [store.next_counter("bdseq") for _ in range(3)] == [0, 1, 2]
    store.close()
    assert OutboxStore(tmp_path / "o.sqlite3").next_counter("bdseq") == 3


def test_command_ids_are_remembered_until_they_expire(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite3")
    assert store.remember_command("cmd-1", expires_at=100.0, now=10.0)
    assert not store.remember_command("cmd-1", expires_at=100.0, now=20.0)
    store.close()
    store = OutboxStore(tmp_path / "o.sqlite3")
    assert store.seen_command("cmd-1")
    store.remember_command("cmd-2", expires_at=300.0, now=200.0)  # prunes the expired cmd-1
    assert not store.seen_command("cmd-1")
