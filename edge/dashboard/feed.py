"""The dashboard's MQTT side: one paho-mqtt 2.x client subscribed to a whole site, publishing commands.

paho runs its own network thread; every message is handed to the asyncio loop with call_soon_threadsafe,
so the Fleet is only ever touched from the loop. Callbacks never raise (an exception in a paho callback
stalls its network thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from edge.dashboard import wire

log = logging.getLogger("edge.dashboard")
OnMessage = Callable[[str, str, str, dict[str, Any]], None]  # site, gate, kind, payload


def parse_broker(url: str) -> tuple[str, int, bool]:
    """mqtt://host:port or mqtts://host:port -> (host, port, tls)."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"broker {url!r}: expected mqtt://HOST:PORT or mqtts://HOST:PORT")
    tls = parts.scheme == "mqtts"
    return parts.hostname, parts.port or (8883 if tls else 1883), tls


class SiteFeed:
    def __init__(
        self,
        broker: str,
        site: str,
        prefix: str,
        loop: asyncio.AbstractEventLoop,
        on_message: OnMessage,
        on_connection: Callable[[bool], None],
        ca_file: str | None = None,
    ) -> None:
        self.host, self.port, tls = parse_broker(broker)
        self.site, self.prefix = wire.check_level(site, "site"), prefix
        self._loop, self._on_message, self._on_connection = loop, on_message, on_connection
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"echannel-dashboard-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv5,
        )
        if tls:
            self.client.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED)
        self.client.reconnect_delay_set(1, 10)
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish_command(self, gate: str, command: dict[str, Any]) -> None:
        topic = wire.topic(self.prefix, self.site, gate, "commands")
        self.client.publish(topic, json.dumps(command, separators=(",", ":")).encode(), qos=1)

    # --- paho callbacks (network thread) ---------------------------------------------------------------------

    def _connected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        try:
            if getattr(reason, "is_failure", False):
                log.warning("dashboard: broker refused the connection: %s", reason)
                return
            client.subscribe(wire.site_filter(self.prefix, self.site), qos=1)
            self._loop.call_soon_threadsafe(self._on_connection, True)
        except Exception:
            log.exception("dashboard: on_connect failed")

    def _disconnected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        with contextlib.suppress(Exception):  # the loop may be closing; never raise into paho's thread
            self._loop.call_soon_threadsafe(self._on_connection, False)

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            where = wire.parse_topic(self.prefix, message.topic)
            payload = wire.decode(message.payload)
            if where is None or payload is None or where[2] == "commands":
                return
            self._loop.call_soon_threadsafe(self._on_message, *where, payload)
        except Exception:
            log.exception("dashboard: message handling failed")
