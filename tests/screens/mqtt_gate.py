"""A simulated gate on a real broker, for the dashboard tests: the real gate core and daemon with the in-process
devices, and a stand-in for the telemetry adapter (edge.telemetry.adapter is another branch's) that speaks
the documented topic tree and payloads (edge/telemetry/asyncapi.yaml): retained availability and state,
events for transactions and alarms, and signed commands checked (Ed25519 over the canonical JSON) before
they reach the gate as events, answered on the responses topic.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.dashboard import wire
from edge.gate import events as ev
from edge.gate.actions import CommandResult, PublishState
from edge.gate.records import Alarm, TransactionRecord
from edge.ports import EventSink, Health

GATE_COMMANDS = {
    "out_of_service": ev.OutOfService,
    "in_service": ev.InService,
    "emergency_open": ev.EmergencyOpen,
    "reset_alarm": ev.Reset,
}


def connect(port: int, name: str, will: tuple[str, bytes] | None = None) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    if will:
        client.will_set(will[0], will[1], qos=1, retain=True)
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    if not connected.wait(5):
        raise TimeoutError(f"{name} could not connect to the broker")
    return client


def publish(client: mqtt.Client, topic: str, payload: dict[str, Any], retain: bool = False) -> None:
    client.publish(topic, json.dumps(payload).encode(), qos=1, retain=retain).wait_for_publish(5)


def state_payload(state: str, mode: str, alarms: list[str], doors: dict[str, str], at: float | None = None) -> dict:
    return {
        "v": 1,
        "type": "state",
        "at": time.time() if at is None else at,
        "state": state,
        "mode": mode,
        "transaction_id": None,
        "doors": doors,
        "alarms": alarms,
    }


class MqttTelemetryStandIn:
    """Implements edge.ports.Telemetry over MQTT the way the gate's adapter does (enough for the screens)."""

    def __init__(self, port: int, site: str, gate: str, trusted: dict[str, Ed25519PublicKey]) -> None:
        self.site, self.gate, self.trusted = site, gate, trusted
        self.topic = {kind: wire.topic(wire.DEFAULT_PREFIX, site, gate, kind) for kind in wire.KINDS}
        self.seq = 0
        self._emit: EventSink | None = None
        self._actions: dict[str, str] = {}
        self.rejected: list[str] = []
        offline = json.dumps({"v": 1, "type": "availability", "status": "offline", "bdseq": 1}).encode()
        self.client = connect(port, f"gate-{gate}", will=(self.topic["availability"], offline))
        self.client.subscribe(self.topic["commands"], qos=1)
        self.client.on_message = self._on_command

    async def run(self, emit: EventSink) -> None:
        import asyncio

        self._emit = emit
        publish(
            self.client,
            self.topic["availability"],
            {"v": 1, "type": "availability", "status": "online", "bdseq": 1, "at": time.time()},
            retain=True,
        )
        await asyncio.Event().wait()

    def health(self) -> Health:
        return Health(True)

    def publish_state(self, state: PublishState, doors: dict[str, str]) -> None:
        payload = state_payload(state.state.value, state.mode, list(state.alarms), doors)
        payload["transaction_id"] = state.transaction_id
        self.client.publish(self.topic["state"], json.dumps(payload).encode(), qos=1, retain=True)

    def publish_record(self, record: TransactionRecord) -> None:
        self._event("transaction", _plain(record.to_dict()))

    def publish_alarm(self, alarm: Alarm) -> None:
        self._event("alarm", _plain(alarm.to_dict()))

    def command_result(self, result: CommandResult) -> None:
        action = self._actions.pop(result.command_id, result.command)
        self._respond(result.command_id, action, result.accepted, result.reason or "ok")

    def stop(self, clean: bool = True) -> None:
        if clean:
            publish(
                self.client,
                self.topic["availability"],
                {"v": 1, "type": "availability", "status": "offline", "bdseq": 1},
                retain=True,
            )
        self.client.disconnect()
        self.client.loop_stop()

    def _event(self, kind: str, body: dict[str, Any]) -> None:
        self.seq += 1
        payload = {
            "v": 1,
            "type": kind,
            "id": uuid.uuid4().hex,
            "seq": self.seq,
            "site": self.site,
            "gate": self.gate,
            "at": time.time(),
            kind: body,
        }
        self.client.publish(self.topic["events"], json.dumps(payload).encode(), qos=1)

    def _respond(self, command_id: str, action: str, accepted: bool, reason: str) -> None:
        payload = {
            "v": 1,
            "type": "response",
            "command_id": command_id,
            "action": action,
            "accepted": accepted,
            "reason": reason,
            "site": self.site,
            "gate": self.gate,
            "at": time.time(),
        }
        self.client.publish(self.topic["responses"], json.dumps(payload).encode(), qos=1)

    def _on_command(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        command = json.loads(message.payload)
        key = self.trusted.get(command.get("key_id", ""))
        try:
            if key is None:
                raise InvalidSignature
            key.verify(base64.b64decode(command["signature"]), wire.canonical(command))
        except (InvalidSignature, KeyError, ValueError):
            self.rejected.append(command.get("id", "?"))
            self._respond(command.get("id", ""), command.get("action", ""), False, "unauthorised")
            return
        if command["gate"] != self.gate or time.time() >= command["expires_at"]:
            self._respond(command["id"], command["action"], False, "unauthorised")
            return
        self._actions[command["id"]] = command["action"]
        assert self._emit is not None
        self._emit(GATE_COMMANDS[command["action"]](command_id=command["id"], origin="control_room"))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, str) else value
