"""The control-room view (pure): fed messages, it shows each gate's availability, state, doors,
transactions, throughput and alarms, and marks gates that went silent."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.telemetry.monitor import FleetView

P = "echannel/v1/s1"


def feed(view: FleetView, gate: str, kind: str, payload: dict, now: float) -> None:
    view.feed(f"{P}/{gate}/{kind}", json.dumps(payload).encode(), now)


def transaction(event_id: str, seq: int, outcome: str = "cleared", reason: str = "ok") -> dict:
    return {
        "v": 1,
        "type": "transaction",
        "id": event_id,
        "seq": seq,
        "site": "s1",
        "gate": "g1",
        "at": 1.0,
        "transaction": {"transaction_id": event_id, "outcome": outcome, "reason": reason},
    }


def test_a_gate_row_shows_availability_state_doors_and_last_outcomes() -> None:
    view = FleetView("echannel/v1", "s1")
    feed(view, "g1", "birth", {"bdseq": 4, "software": "0.9"}, 100.0)
    feed(view, "g1", "availability", {"status": "online", "bdseq": 4}, 100.0)
    feed(
        view,
        "g1",
        "state",
        {"state": "verifying_face", "mode": "in_service", "doors": {"entry": "closed", "exit": "closed"}, "alarms": []},
        101.0,
    )
    feed(view, "g1", "events", transaction("a", 1), 102.0)
    feed(view, "g1", "events", transaction("b", 2, "referred", "face_mismatch"), 103.0)
    feed(view, "g1", "events", transaction("b", 2, "referred", "face_mismatch"), 104.0)  # duplicate delivery
    gate = view.gates["g1"]
    assert gate.status(105.0, 90) == "online"
    assert gate.transactions == 2 and list(gate.last_outcomes) == ["cleared:ok", "referred:face_mismatch"]
    text = view.render(105.0)
    assert "g1" in text and "verifying_face" in text and "referred:face_mismatch" in text
    assert "1 gates: 1 online" in text


def test_throughput_counts_the_last_five_minutes() -> None:
    view = FleetView("echannel/v1", "s1")
    for n in range(10):
        feed(view, "g1", "events", transaction(f"t{n}", n + 1), 1000.0 + n * 30)
    assert view.gates["g1"].per_minute(1270.0) == 2.0  # 10 in 300 s
    assert view.gates["g1"].per_minute(1565.0) == 0.2  # only the last one is within the window


def test_the_last_will_marks_a_gate_offline_but_an_older_will_is_ignored() -> None:
    view = FleetView("echannel/v1", "s1")
    feed(view, "g1", "birth", {"bdseq": 7, "software": "x"}, 1.0)
    feed(view, "g1", "availability", {"status": "online", "bdseq": 7}, 1.0)
    feed(view, "g1", "availability", {"status": "offline", "bdseq": 6}, 2.0)  # late will of the last session
    assert view.gates["g1"].status(3.0, 90) == "online"
    feed(view, "g1", "availability", {"status": "offline", "bdseq": 7}, 4.0)
    assert view.gates["g1"].status(5.0, 90) == "OFFLINE"
    assert "OFFLINE" in view.render(5.0)


def test_a_silent_gate_is_marked_stale() -> None:
    view = FleetView("echannel/v1", "s1", stale_after_s=60)
    feed(view, "g1", "availability", {"status": "online", "bdseq": 0}, 0.0)
    assert view.gates["g1"].status(59.0, 60) == "online"
    assert view.gates["g1"].status(61.0, 60) == "STALE"
    assert "1 stale" in view.render(61.0)


def test_alarms_are_listed_and_active_ones_shown_on_the_gate() -> None:
    view = FleetView("echannel/v1", "s1")
    feed(view, "g2", "state", {"state": "referred", "mode": "in_service", "doors": {}, "alarms": ["tailgating"]}, 1.0)
    feed(
        view,
        "g2",
        "events",
        {
            "type": "alarm",
            "id": "x1",
            "seq": 1,
            "at": 1.0,
            "alarm": {"kind": "tailgating", "active": True, "reason": "beams"},
        },
        1.0,
    )
    text = view.render(2.0)
    assert "tailgating" in text.split("recent alarms:")[0] and "ACTIVE  tailgating beams" in text


def test_foreign_and_malformed_messages_are_ignored() -> None:
    view = FleetView("echannel/v1", "s1")
    view.feed("echannel/v1/other-site/g1/state", b"{}", 1.0)
    view.feed(f"{P}/g1/state", b"not json", 1.0)
    view.feed("something/else", b"{}", 1.0)
    assert view.ignored == 3 and view.gates == {}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["availability", "birth", "state", "events", "metrics", "responses", "commands"]),
    st.dictionaries(
        st.sampled_from(
            [
                "status",
                "bdseq",
                "state",
                "mode",
                "doors",
                "alarms",
                "type",
                "id",
                "seq",
                "at",
                "transaction",
                "alarm",
                "software",
            ]
        ),
        json_values,
    ),
)
def test_any_payload_on_any_topic_never_breaks_the_view(kind: str, payload: dict) -> None:
    view = FleetView("echannel/v1", "s1")
    view.feed(f"{P}/g1/{kind}", json.dumps(payload).encode(), 10.0)
    assert isinstance(view.render(11.0), str)


def test_an_absurd_alarm_time_does_not_break_the_view() -> None:
    view = FleetView("echannel/v1", "s1")
    feed(view, "g1", "events", {"type": "alarm", "id": "x", "seq": 1, "at": 1e300, "alarm": {"kind": "fire"}}, 1.0)
    assert "??:??:??" in view.render(2.0)
