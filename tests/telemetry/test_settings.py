"""The [telemetry] section: defaults that work, and errors that name the key."""

from __future__ import annotations

import pytest

from edge.config import ConfigError
from edge.config.schema import GateConfig
from edge.config.validate import parse_config

GATE = {"gate": {"site": "s1", "gate_id": "g1"}}


def test_defaults_are_valid() -> None:
    telemetry = parse_config(GATE, GateConfig).telemetry
    assert telemetry.protocol == "5" and telemetry.topic_prefix == "echannel/v1"
    assert telemetry.face_threshold_min < telemetry.face_threshold_max
    assert 0 < telemetry.outbox_alarm_percent < 100


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("protocol", "4"),
        ("keepalive_s", 1),
        ("outbox_window", 0),
        ("outbox_alarm_percent", 100),
        ("outbox_max_events", 10),
        ("command_max_lifetime_s", 1),
        ("face_threshold_max", 2),
    ],
)
def test_out_of_range_values_name_their_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(GATE | {"telemetry": {key: value}}, GateConfig)
    assert any(problem.startswith(f"telemetry.{key}:") for problem in error.value.problems)
