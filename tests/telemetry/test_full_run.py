"""A full simulated run: the gate core drives MqttTelemetry (through its asyncio `run`) over a real broker
while travellers pass, are referred, tailgate and attack the camera, safety inputs trip and the control
room sends commands. Every payload published is captured: each matches its JSON Schema, and none carries a
name, document number, MRZ line, image or embedding - even though the chip portrait travels through the
gate's events the whole time."""

from __future__ import annotations

import asyncio
import json
import queue
import time
from pathlib import Path

import jsonschema
import paho.mqtt.client as mqtt
import pytest

from edge.gate import events as ev
from edge.gate.actions import CommandResult, DoorCommand, DoorOp, PublishRecord, PublishState, RaiseAlarm
from edge.gate.events import CheckResult, Door, DoorPosition
from edge.gate.machine import Gate
from edge.telemetry import payloads
from edge.telemetry.adapter import MqttTelemetry
from edge.telemetry.commands import sign_command
from edge.telemetry.settings import TelemetrySettings
from edge.telemetry.topics import GateTopics, parse_topic

pytestmark = pytest.mark.broker

# What a real chip holds: none of it may ever leave the gate.
NAME, GIVEN, DOC_NUMBER = "MUSTERMANN", "ERIKA", "C01X00T47"
MRZ = ["P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<", "C01X00T478D<<6408125F2702283<<<<<<<<<<<<<<<4"]
PORTRAIT = b"\xff\xd8\xff\xe0JFIF" + bytes(range(256)) * 40
SECRETS = [NAME, GIVEN, DOC_NUMBER, *MRZ, "JFIF", "6408125"]
CHECKS = (("passive_authentication", CheckResult.SUCCESSFUL), ("chip_authentication", CheckResult.SUCCESSFUL))


class GateShell:
    """The daemon's routing, reduced to what this test needs: doors obey at once, telemetry gets the rest."""

    def __init__(self, telemetry: MqttTelemetry) -> None:
        self.gate = Gate(new_id=iter(f"txn-{n}" for n in range(1000)).__next__)
        self.telemetry = telemetry
        self.doors = {Door.ENTRY: "unknown", Door.EXIT: "unknown"}
        self.now = time.time()

    def carry_out(self, actions: list) -> None:
        pending = list(actions)
        while pending:
            action = pending.pop(0)
            if isinstance(action, DoorCommand):
                position = DoorPosition.OPEN if action.op is DoorOp.OPEN else DoorPosition.CLOSED
                self.doors[action.door] = str(position)
                pending += self.gate.handle(ev.DoorStateChanged(action.door, position), self.now)
            elif isinstance(action, PublishState):
                self.telemetry.publish_state(action, {str(k): v for k, v in self.doors.items()})
            elif isinstance(action, PublishRecord):
                self.telemetry.publish_record(action.record)
            elif isinstance(action, RaiseAlarm):
                self.telemetry.publish_alarm(action.alarm)
            elif isinstance(action, CommandResult):
                self.telemetry.command_result(action)

    def events(self, *events: ev.Event, step_s: float = 1.5) -> None:
        for event in events:
            self.now += step_s
            self.carry_out(self.gate.handle(event, self.now))


def traveller(face: ev.Event, *, tailgate: bool = False) -> list[ev.Event]:
    presented = [
        ev.DocumentPresented(),
        ev.DocumentAuthenticated("PACE", "TD3", CHECKS, 2100.0, 40, portrait=PORTRAIT),
        ev.EntryPassage(),
        ev.CompartmentOccupied(),
    ]
    if tailgate:
        return [*presented, ev.MoreThanOnePerson(ev.Sensor.BEAMS)]
    return [*presented, face, ev.ExitPassage(), ev.CompartmentEmpty()]


def test_a_full_run_publishes_only_valid_payloads_without_personal_data(
    broker, observe, tmp_path: Path, control_room_key
) -> None:
    key, keys_dir, key_id = control_room_key
    observer = observe(broker.port)
    settings = TelemetrySettings(
        broker=broker.url, outbox=str(tmp_path / "o.sqlite3"), command_keys=str(keys_dir), metrics_interval_s=1.0
    )
    telemetry = MqttTelemetry(
        settings,
        "s1",
        "g1",
        payloads.GateMetadata("0.9", "fw", {"sface": "1"}, "cfg"),
        on_set_threshold=lambda value: None,
    )
    incoming: queue.SimpleQueue[ev.Event] = queue.SimpleQueue()
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sender.connect("127.0.0.1", broker.port)
    sender.loop_start()

    def command(action: str, **args) -> None:
        signed = sign_command(key, key_id, site="s1", gate="g1", action=action, args=args, now=time.time())
        sender.publish(GateTopics("echannel/v1", "s1", "g1").commands, json.dumps(signed), qos=1)

    async def scenario() -> None:
        run = asyncio.create_task(telemetry.run(incoming.put))
        await asyncio.to_thread(telemetry.wait_connected, 10)
        shell = GateShell(telemetry)
        shell.carry_out(shell.gate.start(shell.now))

        async def control_room(action: str, expect_event: bool = True, **args) -> None:
            command(action, **args)
            if expect_event:
                shell.events(await asyncio.to_thread(incoming.get, True, 5))

        ok = ev.FaceVerified(score=0.71, threshold=0.363, quality=0.9, pad_score=0.05, capture_ms=1500)
        shell.events(*traveller(ok))
        shell.events(*traveller(ev.FaceRejected(score=0.12, threshold=0.363, quality=0.8, capture_ms=3000)))
        await control_room("reset_alarm")
        shell.events(ev.CompartmentEmpty())
        shell.events(*traveller(ev.PadAlarm(score=0.6, threshold=0.363, pad_score=0.97)))
        await control_room("reset_alarm")
        shell.events(ev.CompartmentEmpty())
        shell.events(*traveller(ok, tailgate=True))
        await control_room("reset_alarm")
        shell.events(
            ev.CompartmentEmpty(), ev.DocumentPresented(), ev.DocumentRejected("document_forged", protocol="BAC")
        )
        shell.events(
            ev.FireAlarmOn(),
            ev.FireAlarmOff(),
            ev.TamperAlarm(),
            ev.DoorFault(Door.EXIT, "jammed"),
            ev.LinkLost(),
            ev.LinkRestored(),
        )
        await control_room("reset_alarm")
        await control_room("out_of_service")
        await control_room("in_service")
        await control_room("emergency_open")
        await control_room("reset_alarm")
        await control_room("rebirth", expect_event=False)
        await control_room("set_face_threshold", expect_event=False, threshold=0.5)
        shell.events(*traveller(ok))
        await asyncio.sleep(1.5)  # at least one metrics message
        deadline = time.monotonic() + 10
        while telemetry.store.pending() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    try:
        asyncio.run(scenario())
        observer.wait_for(lambda o: o.of_kind("availability")[-1].json()["status"] == "offline", what="the stop")
    finally:
        sender.loop_stop()

    kinds = {parse_topic("echannel/v1", m.topic)[2] for m in observer.messages}
    assert kinds >= {"availability", "birth", "state", "events", "metrics", "commands", "responses"}
    outcomes = {m.json()["transaction"]["outcome"] for m in observer.of_kind("events") if "transaction" in m.json()}
    assert outcomes >= {"cleared", "referred"}
    alarms = {m.json()["alarm"]["kind"] for m in observer.of_kind("events") if "alarm" in m.json()}
    assert alarms >= {"tailgating", "pad_alarm", "fire", "tamper", "door_fault"}
    responses = [m.json() for m in observer.of_kind("responses")]
    assert len(responses) == 10 and all(r["reason"] for r in responses)

    published = [m for m in observer.messages if not m.topic.endswith("/commands")]  # commands are ours
    for message in published:
        text = message.payload.decode("utf-8")
        for secret in SECRETS:
            assert secret not in text, f"{message.topic} leaks personal data"
        assert payloads.privacy_problems(message.json()) == [], message.topic
        kind = parse_topic("echannel/v1", message.topic)[2]
        jsonschema.Draft202012Validator(payloads.load_schema(payloads.schema_for_topic_kind(kind))).validate(
            message.json()
        )
    assert telemetry.counters["privacy_refusals"] == 0
    print(f"{len(published)} payloads checked: {sorted(kinds)}")
