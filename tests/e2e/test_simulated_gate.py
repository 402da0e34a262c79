"""The whole gate, simulated end to end with every real part: our pcscd + vpcd + card emulator, the OCR
reader on a pty, the door-controller firmware behind a pty, the camera stream, MockFactory GPIO, a real
mosquitto, and the real daemon with config/simulated.toml unchanged.

Every scenario's traveller ends as expected, every record reaches the control room, and nothing the
control room receives holds a name, a document number, an MRZ line, an image or an embedding.
"""

from __future__ import annotations

import asyncio
import base64
import re
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from edge.config import load_config
from edge.document.mrz import parse_mrz
from simulators.card.factory import Document
from simulators.gate import bring_up, run_travellers
from simulators.scenarios import SCENARIOS

pytestmark = [pytest.mark.card, pytest.mark.broker, pytest.mark.timeout(600)]

CONFIG_PATH = Path(__file__).resolve().parents[2] / "config" / "simulated.toml"


class Wiretap:
    """Everything published on the site broker, as bytes (a second subscriber beside the control room)."""

    def __init__(self, host: str, port: int) -> None:
        self.payloads: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="wiretap", protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda client, *_: client.subscribe("#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.payloads.append((message.topic, bytes(message.payload)))

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def personal_strings(document_dir: Path) -> set[str]:
    """What must never leave the gate, taken from the test document itself."""
    mrz = parse_mrz(Document.load(document_dir).mrz)
    secrets = {line for line in mrz.lines} | {mrz.document_number}
    secrets |= {part for part in (mrz.primary_identifier + " " + mrz.secondary_identifier).split() if len(part) > 2}
    return {s.replace("<", "") for s in secrets if s.replace("<", "")}


def test_every_scenario_through_the_real_parts():
    config = load_config(CONFIG_PATH, check_devices=False)
    scenarios = list(SCENARIOS.values())
    outcomes = []
    with bring_up(config, str(CONFIG_PATH), in_process=False) as (rig, devices):
        tap = Wiretap("127.0.0.1", rig.sim.broker.port)
        try:
            outcomes, _ = asyncio.run(run_travellers(config, rig, devices, scenarios, lambda o: None))
        finally:
            tap.stop()
        documents = list(rig.sim.documents.values())

    unexpected = [
        (o.scenario.name, o.record.outcome.value, o.record.reason) for o in outcomes if not o.as_expected
    ]
    assert unexpected == []
    assert rig.delivered == len(scenarios)  # every record reached the control room, through the outage too

    secrets = set().union(*(personal_strings(d) for d in documents))
    assert secrets, "the test must know what to look for"
    published = b"\n".join(payload for _, payload in tap.payloads).decode("utf-8", "replace")
    assert len(tap.payloads) > len(scenarios)
    for secret in secrets:
        assert secret not in published, "personal data left the gate"
    # No image or embedding either: no JPEG/JPEG 2000 in any encoding, no long runs of numbers or base64.
    for _, payload in tap.payloads:
        assert b"\xff\xd8\xff" not in payload and b"jP  " not in payload
        text = payload.decode("utf-8", "replace")
        assert not re.search(r"[A-Za-z0-9+/]{200,}", text), "a long encoded blob was published"
        assert not re.search(r"(-?\d+\.\d+,\s*){64,}", text), "an embedding-like vector was published"
    assert base64.b64encode(b"\xff\xd8\xff").decode() not in published
