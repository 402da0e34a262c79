"""[panel] section: GPIO pins of lights, buzzer and the gate's inputs (BCM numbering).

Inputs are described by two flags each: `*_pull_up` (the internal resistor: pull-up or pull-down) and
`*_active_high` (the pin level that means "the condition is present": fire, pressed, cabinet open, key
turned to service). The defaults suit contacts switching to ground with the internal pull-up.
"""

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
    lights_active_high: bool = setting(True, help="a lamp is lit when its pin is high")
    buzzer: int = setting(26, min=0, max=53)
    buzzer_active_high: bool = setting(True, help="the buzzer sounds when its pin is high")
    fire_alarm: int = setting(
        17,
        help="input from the fire panel's normally closed loop: the closed loop holds the pin low; "
        "high (loop opened by the alarm, or a cut wire) means fire",
        min=0,
        max=53,
    )
    fire_alarm_pull_up: bool = setting(True, help="internal pull-up on the fire-alarm input")
    fire_alarm_active_high: bool = setting(True, help="fire when the pin is high (normally closed loop)")
    emergency_button: int = setting(27, min=0, max=53)
    emergency_button_pull_up: bool = setting(True)
    emergency_button_active_high: bool = setting(False, help="pressed when the pin is low (button to ground)")
    tamper: int = setting(22, min=0, max=53)
    tamper_pull_up: bool = setting(True)
    tamper_active_high: bool = setting(True, help="cabinet open when the pin is high (switch closed by the door)")
    service_key: int = setting(23, min=0, max=53)
    service_key_pull_up: bool = setting(True)
    service_key_active_high: bool = setting(False, help="out of service when the pin is low (key switch to ground)")
    debounce_s: float = setting(
        0.05, help="an input must hold its new level this long before it counts", min=0.0, max=2.0
    )
