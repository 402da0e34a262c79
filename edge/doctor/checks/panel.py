"""The panel's GPIO pins can be claimed with the configured pin factory."""

from __future__ import annotations

from edge.doctor.framework import DoctorContext, Result, check

OUTPUTS = ("entry_green", "entry_red", "exit_green", "exit_red", "buzzer")
INPUTS = ("fire_alarm", "emergency_button", "tamper", "service_key")


def make_pin_factory(name: str):
    """gpiozero's factory by its configuration name (MockFactory for "mock")."""
    if name == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    if name == "lgpio":
        from gpiozero.pins.lgpio import LGPIOFactory

        return LGPIOFactory()
    if name == "rpigpio":
        from gpiozero.pins.rpigpio import RPiGPIOFactory

        return RPiGPIOFactory()
    from gpiozero.pins.native import NativeFactory

    return NativeFactory()


@check("gpio", title="GPIO pins can be claimed")
def gpio(ctx: DoctorContext) -> Result:
    settings = ctx.config.panel
    pins = {name: getattr(settings, name) for name in OUTPUTS + INPUTS}
    by_pin: dict[int, list[str]] = {}
    for name, pin in pins.items():
        by_pin.setdefault(pin, []).append(name)
    shared = {pin: names for pin, names in by_pin.items() if len(names) > 1}
    if shared:
        clash = "; ".join(f"GPIO{pin}: {', '.join('panel.' + n for n in names)}" for pin, names in shared.items())
        return Result.fail(f"pins used twice: {clash}", "give each signal its own pin in [panel]")
    try:
        factory = make_pin_factory(settings.pin_factory)
    except Exception as exc:  # missing library (ImportError) or no GPIO hardware (BadPinFactory, OSError)
        return Result.fail(f"pin factory {settings.pin_factory!r} unavailable: {type(exc).__name__}: {exc}",
                           "on a Raspberry Pi 5 use 'lgpio' (apt install python3-lgpio, or pip install lgpio); "
                           "check /dev/gpiochip* exists and the user is in the 'gpio' group")
    from gpiozero import DigitalInputDevice, DigitalOutputDevice

    devices = []
    try:
        for name in OUTPUTS:
            devices.append(DigitalOutputDevice(pins[name], initial_value=False, pin_factory=factory))
        for name in INPUTS:
            devices.append(DigitalInputDevice(pins[name], pull_up=True, pin_factory=factory))
    except Exception as exc:  # GPIOPinInUse, PinInvalidPin, permission errors
        return Result.fail(f"cannot claim GPIO{pins[name]} (panel.{name}): {type(exc).__name__}: {exc}",
                           "stop the daemon first (`systemctl stop echannel`), check the pin number and that "
                           "no other service holds the line (`gpioinfo`)")
    finally:
        for device in devices:
            device.close()
        factory.close()
    return Result.ok(f"{len(pins)} pins claimed and released with the {settings.pin_factory} factory",
                     pins=len(pins))
