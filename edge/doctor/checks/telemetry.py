"""The control room's broker is reachable, with TLS and credentials as configured."""

from __future__ import annotations

import ssl
import time
from urllib.parse import urlsplit

from edge.doctor.framework import DoctorContext, Result, check


@check("broker", title="broker reachable")
def broker(ctx: DoctorContext) -> Result:
    settings = ctx.config.telemetry
    if not settings.enabled:
        return Result.skip("telemetry.enabled = false: no control room")
    url = urlsplit(settings.broker)
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
        return Result.fail(f"telemetry.broker {settings.broker!r} is not mqtt://host:port or mqtts://host:port",
                           "fix telemetry.broker")
    tls = url.scheme == "mqtts"
    host, port = url.hostname, url.port or (8883 if tls else 1883)
    where = f"{host}:{port}" + (" (TLS)" if tls else "")

    import paho.mqtt.client as mqtt

    protocol = mqtt.MQTTv5 if settings.protocol == "5" else mqtt.MQTTv311
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=protocol)
    outcome: dict[str, object] = {}
    client.connect_timeout = ctx.timeout_s
    client.on_connect = lambda _c, _u, _flags, reason, _props: outcome.setdefault("reason", reason)
    try:
        if tls:
            client.tls_set(
                ca_certs=str(ctx.path(settings.ca_file)) if settings.ca_file else None,
                certfile=str(ctx.path(settings.client_cert)) if settings.client_cert else None,
                keyfile=str(ctx.path(settings.client_key)) if settings.client_key else None,
            )
        if settings.username:
            password = ctx.path(settings.password_file).read_text().strip() if settings.password_file else None
            client.username_pw_set(settings.username, password)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return Result.fail(f"TLS or credential files do not load: {exc}",
                           "check telemetry.ca_file, client_cert, client_key and password_file")
    try:
        client.connect(host, port, keepalive=10)
        deadline = time.monotonic() + ctx.timeout_s
        while "reason" not in outcome and time.monotonic() < deadline:
            client.loop(timeout=0.1)
    except ssl.SSLError as exc:
        reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
        return Result.fail(f"{where}: TLS handshake failed: {reason}",
                           "check telemetry.ca_file is the CA that signed the broker's certificate, and that "
                           "the host name in telemetry.broker is in that certificate")
    except (TimeoutError, OSError) as exc:
        return Result.fail(f"{where}: cannot connect: {exc.strerror or exc}",
                           "check the broker is running and reachable from the gate (firewall, address in "
                           "telemetry.broker, the unit's IPAddressAllow= if set); the gate keeps events in "
                           "its outbox meanwhile")
    finally:
        client.disconnect()
        client.loop(timeout=0.1)
    reason = outcome.get("reason")
    if reason is None:
        return Result.fail(f"{where}: no CONNACK within {ctx.timeout_s:g} s",
                           "check the port really is an MQTT listener")
    if getattr(reason, "is_failure", False):
        return Result.fail(f"{where}: broker refused the connection: {reason}",
                           "check telemetry.username and telemetry.password_file against the broker's "
                           "accounts and ACL")
    return Result.ok(f"{where}: connected" + (f" as {settings.username}" if settings.username else ""))
