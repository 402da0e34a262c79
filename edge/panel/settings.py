"""[panel] section: GPIO pins of lights, buzzer and the gate's inputs (BCM numbering)."""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.validate import setting


@dataclass(frozen=True)
class PanelSettings:
    pin_factory: str = setting("lgpio", help="gpiozero pin factory", choices=("lgpio", "rpigpio", "native", "mock"))
    entry_green: int = setting(5, min=0, max=53)
    entry_red: int = setting(6, min=0, max=53)
    exit_green: int = setting(13, min=0, max=53)
    exit_red: int = setting(19, min=0, max=53)
    buzzer: int = setting(26, min=0, max=53)
    fire_alarm: int = setting(17, help="input, active low (normally closed loop)", min=0, max=53)
    emergency_button: int = setting(27, min=0, max=53)
    tamper: int = setting(22, min=0, max=53)
    service_key: int = setting(23, min=0, max=53)
