"""The topic tree every gate publishes under, version 1. Documented in asyncapi.yaml next to this file.

    {prefix}/{site}/{gate}/availability   retained  {"status": "online" | "offline", "bdseq": n}; offline by last will
    {prefix}/{site}/{gate}/birth          retained  gate metadata (software, firmware, models, config hash, bdseq)
    {prefix}/{site}/{gate}/state          retained  gate state, mode, doors, active alarms; on every change
    {prefix}/{site}/{gate}/events         QoS 1     transaction records and alarms, each with seq and a unique id
    {prefix}/{site}/{gate}/metrics        QoS 0     periodic counters, latencies, device health, CPU, memory
    {prefix}/{site}/{gate}/commands       QoS 1     signed commands from the control room
    {prefix}/{site}/{gate}/responses      QoS 1     answers (unless the command named its own response topic)

`prefix` is TelemetrySettings.topic_prefix ("echannel/v1"): the version lives in the prefix so a v2 tree can
run beside v1 during a fleet upgrade. Site and gate identifiers are single topic levels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("availability", "birth", "state", "events", "metrics", "commands", "responses")
_LEVEL = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_level(value: str, what: str) -> str:
    """A site or gate id must be one plain topic level: no '/', '+', '#' or spaces."""
    if not _LEVEL.match(value):
        raise ValueError(f"{what} {value!r} must be 1-64 letters, digits, '-' or '_'")
    return value


@dataclass(frozen=True)
class GateTopics:
    prefix: str
    site: str
    gate: str

    def __post_init__(self) -> None:
        check_level(self.site, "site")
        check_level(self.gate, "gate")

    @property
    def base(self) -> str:
        return f"{self.prefix.rstrip('/')}/{self.site}/{self.gate}"

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def birth(self) -> str:
        return f"{self.base}/birth"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def events(self) -> str:
        return f"{self.base}/events"

    @property
    def metrics(self) -> str:
        return f"{self.base}/metrics"

    @property
    def commands(self) -> str:
        return f"{self.base}/commands"

    @property
    def responses(self) -> str:
        return f"{self.base}/responses"


def site_filter(prefix: str, site: str) -> str:
    """Subscription filter for everything every gate of a site publishes."""
    return f"{prefix.rstrip('/')}/{check_level(site, 'site')}/#"


def parse_topic(prefix: str, topic: str) -> tuple[str, str, str] | None:
    """(site, gate, kind) of a gate topic, or None when the topic is not one of ours."""
    head = prefix.rstrip("/") + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if len(parts) != 3 or parts[2] not in KINDS:
        return None
    return parts[0], parts[1], parts[2]
