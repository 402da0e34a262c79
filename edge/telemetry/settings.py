"""[telemetry] section: the MQTT broker, the durable outbox and command authorisation."""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.validate import setting


@dataclass(frozen=True)
class TelemetrySettings:
    enabled: bool = setting(True, help="false: run without a control room (bench tests only)")
    broker: str = setting("mqtt://127.0.0.1:1883", help="mqtt://host:port or mqtts://host:port")
    protocol: str = setting("5", choices=("5", "3.1.1"))
    username: str = setting("")
    password_file: str = setting("", help="file holding the broker password", exists="file")
    ca_file: str = setting("", help="CA bundle to verify the broker (mqtts)", exists="file")
    client_cert: str = setting("", exists="file")
    client_key: str = setting("", exists="file")
    topic_prefix: str = setting("echannel/v1")
    outbox: str = setting("/var/lib/echannel/outbox.sqlite3", help="durable outbox (SQLite, WAL)")
    outbox_max_events: int = setting(100000, min=100, max=10000000)
    outbox_alarm_percent: float = setting(
        80.0, help="raise the outbox_nearly_full alarm at this fill level", min=10, max=99
    )
    outbox_window: int = setting(
        100, help="events awaiting PUBACK at once (capped by the broker's Receive Maximum)", min=1, max=65535
    )
    keepalive_s: int = setting(
        15, help="MQTT keep-alive; the broker sends the last will after 1.5 x this of silence", min=5, max=600
    )
    reconnect_max_s: float = setting(30.0, help="longest wait between reconnection attempts", min=1, max=600)
    metrics_interval_s: float = setting(30.0, min=1, max=3600)
    command_keys: str = setting("", help="directory of control-room public keys trusted to sign commands")
    command_max_lifetime_s: float = setting(300.0, help="longest validity a signed command may claim", min=5, max=86400)
    face_threshold_min: float = setting(0.2, help="lowest face threshold the control room may set", min=-1, max=1)
    face_threshold_max: float = setting(0.8, help="highest face threshold the control room may set", min=-1, max=1)
