"""The control room's picture of a site (pure): how each gate message changes its tile."""

from __future__ import annotations

from edge.dashboard.fleet import THROUGHPUT_WINDOW_S, Fleet
from edge.dashboard.wire import parse_topic, site_filter

SITE = "hkg-lmc"


def state(name: str = "idle", mode: str = "in_service", alarms=(), at: float = 100.0) -> dict:
    return {
        "v": 1,
        "type": "state",
        "at": at,
        "state": name,
        "mode": mode,
        "transaction_id": None,
        "doors": {"entry": "closed", "exit": "closed"},
        "alarms": list(alarms),
    }


def transaction(event_id: str, outcome: str = "cleared", reason: str = "ok") -> dict:
    return {
        "v": 1,
        "type": "transaction",
        "id": event_id,
        "seq": 1,
        "at": 100.0,
        "transaction": {"transaction_id": "t1", "outcome": outcome, "reason": reason, "ended_at": 100.0},
    }


def test_a_state_message_fills_the_gates_tile():
    fleet = Fleet()
    assert fleet.apply(SITE, "g01", "state", state("verifying_face"), now=1.0)
    (tile,) = fleet.take_changes()
    assert (tile["gate"], tile["state"], tile["mode"], tile["doors"]) == (
        "g01",
        "verifying_face",
        "in_service",
        {"entry": "closed", "exit": "closed"},
    )
    assert tile["availability"] == "online" and not tile["needs_officer"]
    assert fleet.take_changes() == []  # nothing changed since


def test_alarms_that_need_an_officer_are_singled_out():
    fleet = Fleet()
    fleet.apply(SITE, "g01", "state", state("referred", alarms=["referral", "tailgating"]), 1.0)
    fleet.apply(SITE, "g02", "state", state("emergency", mode="emergency", alarms=["emergency_open"]), 1.0)
    tiles = {t["gate"]: t for t in fleet.take_changes()}
    assert tiles["g01"]["officer"] == ["referral", "tailgating"] and tiles["g01"]["needs_officer"]
    assert not tiles["g02"]["needs_officer"]  # an officer opened it: shown, not alarmed
    assert fleet.summary() == {"gates": 2, "online": 2, "needing_officer": 1}


def test_an_offline_gate_needs_an_officer_but_a_late_will_of_an_old_session_is_ignored():
    fleet = Fleet()
    fleet.apply(SITE, "g01", "availability", {"status": "online", "bdseq": 4}, 1.0)
    assert not fleet.apply(SITE, "g01", "availability", {"status": "offline", "bdseq": 3}, 2.0)
    assert fleet.apply(SITE, "g01", "availability", {"status": "offline", "bdseq": 4}, 3.0)
    (tile,) = fleet.take_changes()
    assert tile["officer"] == ["gate_offline"] and "gate_offline" in tile["alarms"]


def test_events_arrive_at_least_once_and_are_counted_once():
    fleet = Fleet()
    fleet.apply(SITE, "g01", "events", transaction("e1"), 10.0)
    assert not fleet.apply(SITE, "g01", "events", transaction("e1"), 11.0)  # redelivered
    fleet.apply(SITE, "g01", "events", transaction("e2", "referred", "face_mismatch"), 12.0)
    (tile,) = fleet.take_changes()
    assert tile["transactions"] == 2
    assert tile["last_outcome"] == {"outcome": "referred", "reason": "face_mismatch", "at": 100.0}


def test_throughput_counts_the_last_fifteen_minutes():
    fleet = Fleet()
    for n in range(6):
        fleet.apply(SITE, "g01", "events", transaction(f"e{n}"), now=float(n))
    assert fleet.take_changes()[0]["throughput_per_h"] == 6 * 3600 / THROUGHPUT_WINDOW_S
    fleet.expire(now=THROUGHPUT_WINDOW_S + 2.5)  # three of them have left the window
    (tile,) = fleet.take_changes()
    assert tile["throughput_per_h"] == 3 * 3600 / THROUGHPUT_WINDOW_S and tile["transactions"] == 6


def test_alarm_events_raise_and_clear_until_the_next_state():
    fleet = Fleet()
    fleet.apply(SITE, "g01", "state", state(), 1.0)
    fleet.apply(SITE, "g01", "events", {"type": "alarm", "id": "a1", "alarm": {"kind": "fire", "active": True}}, 2.0)
    assert fleet.take_changes()[0]["officer"] == ["fire"]
    fleet.apply(SITE, "g01", "events", {"type": "alarm", "id": "a2", "alarm": {"kind": "fire", "active": False}}, 3.0)
    assert fleet.take_changes()[0]["officer"] == []


def test_a_sent_command_is_pending_until_the_gate_answers():
    fleet = Fleet()
    fleet.sent(SITE, "g01", "c0ffee00", "reset_alarm")
    assert fleet.take_changes()[0]["pending"] == ["reset_alarm"]
    fleet.apply(
        SITE,
        "g01",
        "responses",
        {"command_id": "c0ffee00", "action": "reset_alarm", "accepted": False, "reason": "expired", "at": 5.0},
        5.0,
    )
    (tile,) = fleet.take_changes()
    assert tile["pending"] == [] and tile["response"]["reason"] == "expired" and not tile["response"]["accepted"]


def test_malformed_messages_are_skipped_and_counted():
    fleet = Fleet()
    assert not fleet.apply(SITE, "g01", "state", {"no": "state"}, 1.0)
    assert not fleet.apply(SITE, "g01", "availability", {"status": "sideways"}, 1.0)
    assert not fleet.apply(SITE, "g01", "responses", {"accepted": True}, 1.0)
    assert fleet.skipped == 3


def test_topics_follow_the_telemetry_tree():
    assert site_filter("echannel/v1", SITE) == "echannel/v1/hkg-lmc/#"
    assert parse_topic("echannel/v1", "echannel/v1/hkg-lmc/g01/state") == (SITE, "g01", "state")
    assert parse_topic("echannel/v1", "echannel/v1/hkg-lmc/g01/state/extra") is None
    assert parse_topic("echannel/v1", "other/v1/hkg-lmc/g01/state") is None
