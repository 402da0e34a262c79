"""Making a paho-mqtt 2.x client from settings: broker URL, protocol version, TLS, username/password.
Shared by the gate adapter and the control-room tools (monitor, command)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool


def parse_broker_url(url: str) -> BrokerAddress:
    """mqtt://host[:1883] or mqtts://host[:8883]."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"broker URL {url!r}: expected mqtt://host:port or mqtts://host:port")
    tls = parts.scheme == "mqtts"
    return BrokerAddress(parts.hostname, parts.port or (8883 if tls else 1883), tls)


def make_client(
    client_id: str,
    *,
    protocol: str = "5",
    tls: bool = False,
    ca_file: str = "",
    client_cert: str = "",
    client_key: str = "",
    username: str = "",
    password_file: str = "",
) -> mqtt.Client:
    version = mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311
    kwargs = {} if version == mqtt.MQTTv5 else {"clean_session": True}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version, **kwargs)
    if tls:
        # Server verification is always on: the CA file, or the system store when none is given.
        context = ssl.create_default_context(cafile=ca_file or None)
        if client_cert:
            context.load_cert_chain(client_cert, client_key or None)
        client.tls_set_context(context)
    if username:
        password = Path(password_file).read_text(encoding="utf-8").strip() if password_file else None
        client.username_pw_set(username, password)
    return client
