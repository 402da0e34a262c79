"""[doors] section: the serial link to the door-controller MCU."""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.validate import setting


@dataclass(frozen=True)
class DoorLinkSettings:
    port: str = setting(
        "/dev/ttyACM0", help="serial device of the door controller (UART, USB CDC or pty)", exists="device"
    )
    baudrate: int = setting(115200, min=1200, max=3000000)
    ack_timeout_s: float = setting(0.1, help="resend a command not acknowledged within this", min=0.005, max=5)
    retries: int = setting(5, min=0, max=50)
    link_timeout_s: float = setting(1.0, help="no frame from the MCU for this long: link lost", min=0.2, max=30)
    heartbeat_s: float = setting(0.25, help="host heartbeat period (firmware safe state after 1 s)", min=0.05, max=5)
