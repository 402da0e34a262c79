"""MqttTelemetry: the gate's `edge.ports.Telemetry` over MQTT (paho-mqtt 2.x), with the durable outbox.

    telemetry = MqttTelemetry(config.telemetry, site, gate_id, GateMetadata(software=edge.__version__, ...),
                              on_rebirth=..., on_set_threshold=face.set_threshold, device_health=...)
    asyncio.create_task(telemetry.run(emit))       # connects, delivers commands as events, publishes metrics
    telemetry.publish_state(...); telemetry.publish_record(...); telemetry.command_result(...)

Threads: the daemon calls publish_*; paho's network thread runs the callbacks; a sender thread owns the
outbox flow (hands stored events to paho in order, deletes them on PUBACK). Callbacks only record and
wake the sender: a paho callback that blocks or raises would stall the network thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.gate.actions import CommandResult, PublishState
from edge.gate.records import Alarm, TransactionRecord
from edge.ports import EventSink, Health
from edge.telemetry import payloads
from edge.telemetry.client import make_client, parse_broker_url
from edge.telemetry.commands import Accepted, CommandGuard, Rejected, load_trusted_keys
from edge.telemetry.outbox import FillLevel, OutboxFlow, OutboxStore, StoredEvent
from edge.telemetry.system import SystemSampler
from edge.telemetry.topics import GateTopics

if TYPE_CHECKING:  # importing the settings module first would close an import cycle through edge.config
    from edge.telemetry.settings import TelemetrySettings

log = logging.getLogger("edge.telemetry")
OUTBOX_ALARM = "outbox_nearly_full"
_RESERVED_IN_FLIGHT = 8  # QoS 1 messages besides events that may await PUBACK (state, birth, responses)
_READ_AHEAD = 512  # stored events read at once by the sender
_DELETE_BATCH = 256  # acknowledged events deleted in one commit ...
_DELETE_DELAY_S = 0.02  # ... or after this long


class MqttTelemetry:
    def __init__(
        self,
        settings: TelemetrySettings,
        site: str,
        gate_id: str,
        metadata: payloads.GateMetadata,
        on_rebirth: Callable[[], None] | None = None,
        on_set_threshold: Callable[[float], None] | None = None,
        *,
        device_health: Callable[[], Mapping[str, Health]] | None = None,
        clock: Callable[[], float] = time.time,
        client_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.site, self.gate_id, self.metadata = site, gate_id, metadata
        self.topics = GateTopics(settings.topic_prefix, site, gate_id)
        self._on_rebirth, self._on_set_threshold = on_rebirth, on_set_threshold
        self._device_health = device_health
        self._clock = clock
        self.store = OutboxStore(settings.outbox)
        self.flow = OutboxFlow(settings.outbox_window)
        self.level = FillLevel(
            settings.outbox_max_events,
            settings.outbox_alarm_percent / 100.0,
            max(0.05, settings.outbox_alarm_percent / 100.0 - 0.1),
        )
        self.guard = CommandGuard(
            site,
            gate_id,
            load_trusted_keys(settings.command_keys),
            settings.command_max_lifetime_s,
            (settings.face_threshold_min, settings.face_threshold_max),
        )
        self.counters: Counter[str] = Counter()
        self.bdseq = -1
        self._address = parse_broker_url(settings.broker)
        self._client = make_client(
            client_id or f"echannel-{site}-{gate_id}",
            protocol=settings.protocol,
            tls=self._address.tls,
            ca_file=settings.ca_file,
            client_cert=settings.client_cert,
            client_key=settings.client_key,
            username=settings.username,
            password_file=settings.password_file,
        )
        self._v5 = settings.protocol == "5"
        # Unlimited in paho: the outbox window bounds events (paho would otherwise scan its whole queue on
        # every PUBACK to release queued messages, which costs more than the rest of the ack handling).
        self._client.max_inflight_messages_set(0)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(min_delay=1, max_delay=int(max(1, settings.reconnect_max_s)))
        self._client.on_pre_connect = self._on_pre_connect
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._acks: deque[int] = deque()
        self._hold_for_retransmission = False
        self._refused: deque[int] = deque()
        self._ahead: deque[StoredEvent] = deque()  # read from the store, not yet handed to paho
        self._fetched = 0  # highest seq read into _ahead
        self._acked: list[int] = []
        self._acked_since: float | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._sender: threading.Thread | None = None
        self._emit: EventSink | None = None
        self._last_state: dict[str, Any] | None = None
        # command id -> (action, response topic, correlation data, expiry): awaiting the gate core's result
        self._pending_commands: dict[str, tuple[str, str, bytes | None, float]] = {}
        self._outcomes: Counter[str] = Counter()
        self._steps: dict[str, list[float]] = {}
        self._system = SystemSampler()
        self._started = False
        self._level_lock = threading.Lock()

    # --- life cycle -------------------------------------------------------------------------------------

    async def run(self, emit: EventSink) -> None:
        """Connect, deliver validated commands to `emit`, publish metrics every metrics_interval_s."""
        self.start(emit)
        try:
            while True:
                await asyncio.sleep(self.settings.metrics_interval_s)
                self.publish_metrics()
        finally:
            await asyncio.to_thread(self.stop)

    def start(self, emit: EventSink | None = None) -> None:
        if emit is not None:
            self._emit = emit
        if self._started:
            return
        self._started = True
        self._sender = threading.Thread(target=self._send_loop, name="telemetry-outbox", daemon=True)
        self._sender.start()
        self._client.connect_async(self._address.host, self._address.port, keepalive=self.settings.keepalive_s)
        self._client.loop_start()

    def stop(self, timeout: float = 2.0) -> None:
        """Graceful stop: say offline (retained), wait briefly for outstanding acks, disconnect."""
        if not self._started:
            self.store.close()
            return
        self._started = False
        if self._connected.is_set():
            deadline = time.monotonic() + timeout  # let the events in flight be acknowledged
            while self.flow.in_flight and self._connected.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
            with contextlib.suppress(Exception):
                info = self._client.publish(
                    self.topics.availability,
                    payloads.dumps(payloads.availability("offline", self.bdseq, self._clock())),
                    qos=1,
                    retain=True,
                )
                self.counters["messages_published"] += 1
                info.wait_for_publish(timeout)
        self._stopping.set()
        self._wake.set()
        if self._sender:
            self._sender.join(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self.store.close()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # --- the Telemetry port -------------------------------------------------------------------------------

    def publish_state(self, state: PublishState, doors: dict[str, str]) -> None:
        payload = payloads.state(state, doors, self._clock())
        if self._last_state is not None and {**self._last_state, "at": payload["at"]} == payload:
            return  # nothing changed: the retained state already says this
        self._last_state = payload
        if self._connected.is_set():  # otherwise sent on (re)connection: a stale retained state must not win
            self._publish(self.topics.state, self._last_state, qos=1, retain=True)

    def publish_record(self, record: TransactionRecord) -> None:
        self._outcomes[str(record.outcome)] += 1
        for step, ms in record.steps_ms.items():
            entry = self._steps.setdefault(step, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += ms
            entry[2] = max(entry[2], ms)
        self._enqueue("transaction", record.ended_at, payloads.record_body(record))

    def publish_alarm(self, alarm: Alarm) -> None:
        self._enqueue("alarm", alarm.at, payloads.alarm_body(alarm))

    def command_result(self, result: CommandResult) -> None:
        pending = self._pending_commands.pop(result.command_id, None)
        if pending is None:
            return  # not a control-room command (service key, emergency button) or already answered
        action, topic, correlation, _ = pending
        self._respond(topic, correlation, payloads.response_for(result, action, self.site, self.gate_id, self._clock()))

    def health(self) -> Health:
        pending = self.store.pending()
        problems = []
        if not self._connected.is_set():
            problems.append("broker not connected")
        if self.level.alarm:
            problems.append(f"outbox {pending}/{self.level.capacity}")
        if self.counters["broker_refusals"]:
            problems.append(f"{self.counters['broker_refusals']} events refused by the broker (kept in the outbox)")
        if self.counters["privacy_refusals"]:
            problems.append(f"{self.counters['privacy_refusals']} payloads refused by the privacy guard")
        figures = {
            "outbox_pending": float(pending),
            "in_flight": float(self.flow.in_flight),
            **{k: float(v) for k, v in self.counters.items()},
        }
        ok = self._connected.is_set() and not self.level.alarm
        return Health(ok, "; ".join(problems) or "connected", figures)

    # --- metrics ------------------------------------------------------------------------------------------

    def metrics_payload(self) -> dict[str, Any]:
        steps = {
            name: {"count": int(c), "mean": round(total / c, 1) if c else 0.0, "max": round(mx, 1)}
            for name, (c, total, mx) in self._steps.items()
        }
        self._steps = {}
        devices = {}
        if self._device_health:
            devices = {name: {"ok": h.ok, "detail": h.detail[:256]} for name, h in self._device_health().items()}
        telemetry = {
            "outbox_pending": self.store.pending(),
            "outbox_capacity": self.level.capacity,
            "in_flight": self.flow.in_flight,
            **dict(self.counters),
        }
        return payloads.metrics(
            self._clock(),
            self.settings.metrics_interval_s,
            {
                "transactions": dict(self._outcomes),
                "steps_ms": steps,
                "devices": devices,
                "system": self._system.sample(),
                "telemetry": telemetry,
            },
        )

    def publish_metrics(self) -> None:
        payload = self.metrics_payload()
        if self._connected.is_set():
            self._publish(self.topics.metrics, payload, qos=0)

    # --- outbox -------------------------------------------------------------------------------------------

    def _enqueue(self, kind: str, at: float, body: dict[str, Any]) -> int | None:
        problems = payloads.privacy_problems(body)
        if problems:
            self.counters["privacy_refusals"] += 1
            log.error("telemetry: refused a %s event carrying personal data at %s", kind, ", ".join(problems))
            return None
        pending = self.store.pending()
        if not self.level.admit(pending):
            self.counters["outbox_dropped"] += 1
            log.error("telemetry: outbox full (%d events); %s event dropped", pending, kind)
            return None
        try:
            seq = self.store.append(uuid.uuid4().hex, kind, at, json.dumps(body, separators=(",", ":")))
        except sqlite3.Error as exc:  # disk full, file gone, store closed: count it, never crash the gate
            self.counters["outbox_errors"] += 1
            log.error("telemetry: could not store a %s event: %s", kind, exc)
            return None
        self._check_level(at)
        self._wake.set()
        return seq

    def _check_level(self, at: float) -> None:
        with self._level_lock:  # the daemon (append) and the sender (delete) both move the level
            change = self.level.update(self.store.pending())
        if change is None:
            return
        pending = self.store.pending()
        log.warning(
            "telemetry: outbox %s (%d of %d)",
            "nearly full" if change else "below alarm level",
            pending,
            self.level.capacity,
        )
        body = {
            "kind": OUTBOX_ALARM,
            "at": at,
            "reason": f"{pending}/{self.level.capacity}",
            "transaction_id": None,
            "active": change,
        }
        self.store.append(uuid.uuid4().hex, "alarm", at, json.dumps(body, separators=(",", ":")))

    def _event_payload(self, row: StoredEvent) -> bytes:
        # Composed by hand (the flush rate depends on it): every part is a number, a hex id, a fixed word or a
        # checked topic level, and the body is JSON already checked by the privacy guard when it was stored.
        return (
            f'{{"v":{payloads.SCHEMA_VERSION},"type":"{row.kind}","id":"{row.event_id}","seq":{row.seq},'
            f'"site":"{self.site}","gate":"{self.gate_id}","at":{float(row.at)!r},"{row.kind}":{row.body}}}'
        ).encode()

    def _send_loop(self) -> None:
        while True:
            self._wake.wait(0.05)
            self._wake.clear()
            try:
                stopping = self._stopping.is_set()
                self._drain_acks(force=stopping)
                if stopping:
                    return
                if self._connected.is_set():
                    self._send_more()
            except Exception:  # the sender must outlive any one bad row or closed store
                log.exception("telemetry: outbox sender error")
                time.sleep(0.5)

    def _send_more(self) -> None:
        if self._hold_for_retransmission:
            if self.flow.in_flight:
                return
            self._hold_for_retransmission = False
        room = self.flow.room()
        # Refill in batches (a quarter of the window at least) unless nothing is in flight: fewer wake-ups.
        if not room or (self.flow.in_flight and room < self.flow.window // 4):
            return
        for _ in range(room):
            if not self._ahead:
                self._ahead.extend(self.store.after(self._fetched, _READ_AHEAD))
                if not self._ahead:
                    return
                self._fetched = self._ahead[-1].seq
            row = self._ahead.popleft()
            info = self._client.publish(self.topics.events, self._event_payload(row), qos=1)
            self.flow.sent(info.mid, row.seq)
            self.counters["events_sent"] += 1

    def _drain_acks(self, force: bool = False) -> None:
        while self._refused:
            self.flow.acked(self._refused.popleft())
        while self._acks:
            seq = self.flow.acked(self._acks.popleft())
            if seq is not None:
                self._acked.append(seq)
        if not self._acked:
            return
        now = time.monotonic()
        if self._acked_since is None:
            self._acked_since = now
        # Deletions are batched (one commit per batch); a crash before the commit only means those events
        # are sent again with the same id, which receivers de-duplicate.
        if force or len(self._acked) >= _DELETE_BATCH or now - self._acked_since >= _DELETE_DELAY_S:
            done, self._acked, self._acked_since = self._acked, [], None
            self.store.delete(done)
            self.counters["events_acked"] += len(done)
            self._check_level(self._clock())

    # --- paho callbacks (network thread: record, wake, never raise) -----------------------------------------

    def _on_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        # Sparkplug-style birth/death counter: one per connection attempt, in the will and in the birth.
        try:
            self.bdseq = self.store.next_counter("bdseq")
        except sqlite3.Error:  # keep the last value rather than stall the network thread
            log.exception("telemetry: could not advance the birth/death counter")
        client.will_set(
            self.topics.availability, payloads.dumps(payloads.availability("offline", self.bdseq)), qos=1, retain=True
        )

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        try:
            if reason.is_failure:
                log.warning("telemetry: broker refused the connection: %s", reason)
                return
            receive_max = getattr(properties, "ReceiveMaximum", None) if properties else None
            if receive_max:  # the broker's Receive Maximum (MQTT 5); leave room for state, birth, responses
                self.flow.window = max(1, min(self.settings.outbox_window, int(receive_max) - _RESERVED_IN_FLIGHT))
            self._announce()
            client.subscribe(self.topics.commands, qos=1)
            self.counters["connections"] += 1
            # paho retransmits the events that were in flight when the connection dropped, but only after this
            # callback returns: hold new events back until those are acknowledged, or they would overtake them.
            self._hold_for_retransmission = self.flow.in_flight > 0
            self._connected.set()
            self._wake.set()
        except Exception:
            log.exception("telemetry: on_connect failed")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        try:
            self._connected.clear()
            if not self._stopping.is_set():
                log.warning("telemetry: disconnected from the broker (%s); events wait in the outbox", reason)
        except Exception:  # an exception here would stall paho's network thread
            pass

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        if getattr(reason, "is_failure", False):
            # Refused (quota, not authorised): the event stays stored and is sent again after the next restart;
            # its slot in the window is freed so the rest keeps flowing.
            self.counters["broker_refusals"] += 1
            self._refused.append(mid)
            self._wake.set()
            return
        self._acks.append(mid)
        # Wake the sender for a batch of acks, or when everything in flight is acknowledged (else it wakes
        # on its own within 50 ms): fewer wake-ups, less contention for the interpreter lock.
        if len(self._acks) >= max(1, self.flow.window // 4) or len(self._acks) >= self.flow.in_flight:
            self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self._handle_command(message)
        except Exception:
            log.exception("telemetry: command handling failed")

    # --- commands -----------------------------------------------------------------------------------------

    def _handle_command(self, message: mqtt.MQTTMessage) -> None:
        props = message.properties if self._v5 else None
        topic = getattr(props, "ResponseTopic", None) if props else None
        correlation = getattr(props, "CorrelationData", None) if props else None
        now = self._clock()
        verdict = self.guard.check(message.payload, now, self.store.seen_command)
        if isinstance(verdict, Accepted):
            topic = topic or verdict.response_topic
        elif not topic:  # MQTT 3.1.1: answer a rejection where the command asked, if it could be read
            topic = _payload_response_topic(message.payload)
        topic = self._response_topic(topic)
        if isinstance(verdict, Accepted) and self._emit is None and verdict.to_event() is not None:
            verdict = Rejected("not_ready", "the gate is starting", verdict.command_id, verdict.action)
        fresh = isinstance(verdict, Accepted) and self.store.remember_command(
            verdict.command_id, verdict.expires_at, now
        )
        if isinstance(verdict, Accepted) and not fresh:
            verdict = Rejected("replayed", "command id already used", verdict.command_id, verdict.action)
        if isinstance(verdict, Rejected):
            self.counters["commands_rejected"] += 1
            log.warning(
                "telemetry: command %s rejected: %s (%s)", verdict.command_id or "?", verdict.reason, verdict.detail
            )
            self._respond(
                topic,
                correlation,
                payloads.response(
                    verdict.command_id, verdict.action, False, verdict.reason, self.site, self.gate_id, now
                ),
            )
            return
        self.counters["commands_accepted"] += 1
        event = verdict.to_event()
        if event is not None:
            for stale in [k for k, v in self._pending_commands.items() if v[3] < now]:
                del self._pending_commands[stale]  # never answered by the gate core: forget once expired
            self._pending_commands[verdict.command_id] = (verdict.action, topic, correlation, verdict.expires_at)
            assert self._emit is not None
            self._emit(event)
            return
        accepted, reason = self._adapter_action(verdict)
        self._respond(
            topic,
            correlation,
            payloads.response(verdict.command_id, verdict.action, accepted, reason, self.site, self.gate_id, now),
        )

    def _adapter_action(self, command: Accepted) -> tuple[bool, str]:
        if command.action == "rebirth":
            self._announce()
            if self._on_rebirth:
                self._on_rebirth()
            return True, "ok"
        if self._on_set_threshold is None:
            return False, "not_supported"
        try:
            self._on_set_threshold(float(command.args["threshold"]))
        except ValueError as exc:
            return False, f"invalid_argument: {exc}"[:128]
        return True, "ok"

    def _announce(self) -> None:
        """Birth, then online, then the current state: what a control room needs to rebuild its view."""
        now = self._clock()
        birth = payloads.birth(self.metadata, self.site, self.gate_id, self.bdseq, now)
        self._publish(self.topics.birth, birth, qos=1, retain=True)
        self._publish(self.topics.availability, payloads.availability("online", self.bdseq, now), qos=1, retain=True)
        if self._last_state is not None:
            self._publish(self.topics.state, self._last_state, qos=1, retain=True)

    def _response_topic(self, requested: str | None) -> str:
        """Answer where asked, but only inside our own topic tree and never to a wildcard."""
        head = self.settings.topic_prefix.rstrip("/") + "/"
        if requested and requested.startswith(head) and not any(c in requested for c in "+#\0"):
            return requested
        return self.topics.responses

    def _respond(self, topic: str, correlation: bytes | None, payload: dict[str, Any]) -> None:
        properties = None
        if self._v5 and correlation is not None:
            properties = Properties(PacketTypes.PUBLISH)
            properties.CorrelationData = correlation
        self._publish(topic, payload, qos=1, properties=properties)

    def _publish(
        self,
        topic: str,
        payload: dict[str, Any],
        *,
        qos: int,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> None:
        problems = payloads.privacy_problems(payload)
        if problems:
            self.counters["privacy_refusals"] += 1
            log.error("telemetry: refused to publish %s carrying personal data at %s", topic, ", ".join(problems))
            return
        self._client.publish(topic, payloads.dumps(payload), qos=qos, retain=retain, properties=properties)
        self.counters["messages_published"] += 1


def _payload_response_topic(raw: bytes) -> str | None:
    try:
        command = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    topic = command.get("response_topic") if isinstance(command, dict) else None
    return topic if isinstance(topic, str) else None
