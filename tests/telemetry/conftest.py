"""Fixtures for the telemetry tests: private mosquitto brokers, a recording subscriber, signing keys."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import edge.config  # noqa: F401  (import first: edge.telemetry.settings alone closes a cycle through edge.config)
from edge.telemetry.commands import generate_key_pair, load_private_key
from simulators.mqtt_broker import MosquittoBroker
from simulators.processes import wait_until


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    properties: Any = None
    at: float = field(default_factory=time.monotonic)  # when it was received

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class Observer:
    """A control-room client that records every message under `topic_filter` (a persistent MQTT 5
    session when `client_id` is given, so nothing published while it is away is lost)."""

    port: int
    topic_filter: str = "echannel/#"
    client_id: str = ""
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(self.topic_filter, qos=1)
        self.client.reconnect_delay_set(0.2, 1)

    def start(self) -> Observer:
        self.started_at = time.time()
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = None
        if self.client_id:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", self.port, clean_start=not self.client_id, properties=props)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(message.topic, message.payload, bool(message.retain), message.properties))

    def of_kind(self, kind: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic.endswith("/" + kind)]

    def wait_for(self, predicate: Callable[[Observer], bool], timeout: float = 10.0, what: str = "messages") -> None:
        wait_until(lambda: predicate(self), timeout=timeout, what=what)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with MosquittoBroker(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def observe() -> Iterator[Callable[..., Observer]]:
    started: list[Observer] = []

    def make(port: int, topic_filter: str = "echannel/#", client_id: str = "") -> Observer:
        observer = Observer(port, topic_filter, client_id).start()
        started.append(observer)
        time.sleep(0.2)  # let the subscription land before the test publishes
        return observer

    yield make
    for observer in started:
        observer.stop()


@pytest.fixture
def control_room_key(tmp_path: Path) -> tuple[Ed25519PrivateKey, Path, str]:
    """A control-room signing key; returns (private key, the gate's command_keys directory, key id)."""
    keys = tmp_path / "command_keys"
    private_path, _ = generate_key_pair(keys, "control-room")
    return load_private_key(private_path), keys, "control-room"
