"""Reporting to the control room over MQTT, the durable outbox, and the control room's commands.

    topics.py     the versioned topic tree echannel/v1/{site}/{gate}/...
    payloads.py   JSON payload builders, the schemas (schemas/*.json, asyncapi.yaml) and the privacy guard
    outbox.py     the durable outbox: pure in-flight bookkeeping and fill alarm + the SQLite (WAL) store
    commands.py   signed control-room commands: verification (pure), signing, keys
    client.py     paho-mqtt client from settings (URL, MQTT 5 / 3.1.1, TLS, username/password)
    adapter.py    MqttTelemetry, the gate's edge.ports.Telemetry
    monitor.py    the control room's view of a site (pure), drawn by `echannel monitor`
    system.py     CPU, memory and temperature for the metrics message
See docs/telemetry.md.
"""
