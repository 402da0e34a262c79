"""The gate's GPIO panel through gpiozero: guidance lights, buzzer and the gate's own safety inputs.

    panel = GpioPanel(settings)                          # the factory named in settings (lgpio on a gate)
    panel = GpioPanel(settings, pin_factory=MockFactory())  # tests
    task = asyncio.create_task(panel.run(emit))
    panel.set_lights(Light.GREEN_ARROW, Light.RED_CROSS)
    panel.sound(BuzzerPattern.CHIME)

Inputs are debounced here (edge.panel.debounce), not with gpiozero's bounce_time: that one is a dead time
after an edge, can miss the level a contact settles on, and is not implemented by every pin factory.
gpiozero calls our edge callback from its own thread (or, with MockFactory, from whoever drives the pin);
the callback only hands the edge to the asyncio loop (`call_soon_threadsafe`), so all debounce state is
touched by the loop thread alone and needs no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpiozero import LED, Buzzer, DigitalInputDevice

from edge.gate.actions import BuzzerPattern, Light
from edge.gate.events import (
    EmergencyOpen,
    Event,
    FireAlarmOff,
    FireAlarmOn,
    InService,
    OutOfService,
    TamperAlarm,
)
from edge.panel.debounce import Debouncer
from edge.panel.settings import PanelSettings
from edge.ports import EventSink, Health

log = logging.getLogger(__name__)

# Buzzer timings (seconds): on, off, repetitions (None: until told otherwise).
CHIME = (0.12, 0.08, 2)  # two short pips: "go ahead"
WARNING = (0.1, 0.4, None)  # short beeps twice a second: attention
PANEL_ORIGIN = "panel"
SERVICE_KEY_ORIGIN = "service_key"


def make_pin_factory(name: str) -> Any:
    """The gpiozero pin factory called `name` in the settings; a clear error when it cannot load."""
    try:
        if name == "lgpio":
            from gpiozero.pins.lgpio import LGPIOFactory

            return LGPIOFactory()
        if name == "rpigpio":
            from gpiozero.pins.rpigpio import RPiGPIOFactory

            return RPiGPIOFactory()
        if name == "native":
            from gpiozero.pins.native import NativeFactory

            return NativeFactory()
        if name == "mock":
            from gpiozero import Device
            from gpiozero.pins.mock import MockFactory

            # One mock board per process, as GPIOZERO_PIN_FACTORY=mock gives: a simulator drives its pins.
            if not isinstance(Device.pin_factory, MockFactory):
                Device.pin_factory = MockFactory()
            return Device.pin_factory
    except Exception as exc:  # ImportError, or no GPIO chip on this machine
        raise PanelError(f"panel.pin_factory = {name!r} cannot be used here: {exc}") from exc
    raise PanelError(f"panel.pin_factory: unknown factory {name!r}")


class PanelError(Exception):
    """The panel cannot be set up (pin factory unavailable, pin busy or invalid)."""


@dataclass
class _Input:
    """One debounced input and the events its transitions mean."""

    name: str
    device: DigitalInputDevice
    invert: bool  # gpiozero's "active" is the opposite of "the condition is present"
    debouncer: Debouncer
    on_assert: Callable[[], Event | None]
    on_release: Callable[[], Event | None]

    def asserted(self) -> bool:
        return bool(self.device.is_active) != self.invert


class GpioPanel:
    """edge.ports.Panel on gpiozero devices. See the module docstring."""

    def __init__(self, settings: PanelSettings, pin_factory: Any = None) -> None:
        self.settings = settings
        factory = pin_factory if pin_factory is not None else make_pin_factory(settings.pin_factory)
        self._devices: list[Any] = []
        try:
            self._lights = {
                "entry": (self._led(settings.entry_green, factory), self._led(settings.entry_red, factory)),
                "exit": (self._led(settings.exit_green, factory), self._led(settings.exit_red, factory)),
            }
            self._buzzer = Buzzer(settings.buzzer, active_high=settings.buzzer_active_high, pin_factory=factory)
            self._devices.append(self._buzzer)
            s = settings
            self._inputs = [
                self._input("fire_alarm", s.fire_alarm, s.fire_alarm_pull_up, s.fire_alarm_active_high, factory,
                            FireAlarmOn, FireAlarmOff),
                self._input("emergency_button", s.emergency_button, s.emergency_button_pull_up,
                            s.emergency_button_active_high, factory, lambda: EmergencyOpen(origin=PANEL_ORIGIN)),
                self._input("tamper", s.tamper, s.tamper_pull_up, s.tamper_active_high, factory, TamperAlarm),
                self._input("service_key", s.service_key, s.service_key_pull_up, s.service_key_active_high, factory,
                            lambda: OutOfService(origin=SERVICE_KEY_ORIGIN),
                            lambda: InService(origin=SERVICE_KEY_ORIGIN)),
            ]
        except PanelError:
            self.close()
            raise
        except Exception as exc:  # gpiozero: pin in use, invalid pin, no permission
            self.close()
            raise PanelError(f"panel: cannot set up the GPIO pins: {exc}") from exc
        self._by_device = {id(i.device): i for i in self._inputs}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._emit: EventSink | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._pattern = BuzzerPattern.SILENT
        self._light_state = {"entry": Light.OFF, "exit": Light.OFF}
        self.events_emitted = 0

    # --- construction ---------------------------------------------------------------------------------------

    def _led(self, pin: int, factory: Any) -> LED:
        led = LED(pin, active_high=self.settings.lights_active_high, pin_factory=factory)
        self._devices.append(led)
        return led

    def _input(
        self,
        name: str,
        pin: int,
        pull_up: bool,
        active_high: bool,
        factory: Any,
        on_assert: Callable[[], Event | None],
        on_release: Callable[[], Event | None] = lambda: None,
    ) -> _Input:
        device = DigitalInputDevice(pin, pull_up=pull_up, pin_factory=factory)
        self._devices.append(device)
        # With a pull-up gpiozero calls a low pin "active"; we want active = the condition is present.
        invert = active_high == pull_up
        line = _Input(name, device, invert, Debouncer(self.settings.debounce_s, False), on_assert, on_release)
        device.when_activated = self._on_edge
        device.when_deactivated = self._on_edge
        return line

    # --- edge.ports.Panel ----------------------------------------------------------------------------------

    async def run(self, emit: EventSink) -> None:
        """Watch the inputs until cancelled. Conditions already present at start are reported once stable."""
        self._loop = asyncio.get_running_loop()
        self._emit = emit
        try:
            for line in self._inputs:
                self._sample(line)
            await asyncio.Event().wait()  # edges arrive through callbacks; nothing to poll
        finally:
            self._emit = None
            self._loop = None
            for handle in self._timers.values():
                handle.cancel()
            self._timers.clear()

    def set_lights(self, entry: Light, exit: Light) -> None:
        for side, light in (("entry", entry), ("exit", exit)):
            green, red = self._lights[side]
            green.value = light is Light.GREEN_ARROW
            red.value = light is Light.RED_CROSS
            self._light_state[side] = light

    def sound(self, pattern: BuzzerPattern) -> None:
        """Start a buzzer pattern; returns at once (gpiozero times the beeps in its own thread)."""
        buzzer = self._buzzer
        if pattern is BuzzerPattern.SILENT:
            buzzer.off()
        elif pattern is BuzzerPattern.CHIME:
            on, off, n = CHIME
            buzzer.beep(on_time=on, off_time=off, n=n, background=True)
        elif pattern is BuzzerPattern.WARNING:
            on, off, n = WARNING
            buzzer.beep(on_time=on, off_time=off, n=n, background=True)
        elif pattern is BuzzerPattern.ALARM:
            buzzer.on()  # continuous
        self._pattern = pattern

    def health(self) -> Health:
        if not self._devices:
            return Health(ok=False, detail="panel closed")
        conditions = {line.name: float(line.debouncer.level) for line in self._inputs}
        present = [name for name, level in conditions.items() if level]
        detail = "inputs: " + (", ".join(present) if present else "all clear")
        return Health(ok=True, detail=detail, figures={**conditions, "events_emitted": float(self.events_emitted)})

    def close(self) -> None:
        """Turn the lights and buzzer off and release the pins."""
        for device in self._devices:
            if not isinstance(device, DigitalInputDevice):
                with contextlib.suppress(Exception):
                    device.off()  # closing alone leaves an output pin where it was
        for device in self._devices:
            with contextlib.suppress(Exception):
                device.close()
        self._devices.clear()

    # --- inputs ---------------------------------------------------------------------------------------------

    def _on_edge(self, device: DigitalInputDevice) -> None:
        """gpiozero's callback (any thread): hand the edge to the loop, never act here."""
        loop = self._loop
        line = self._by_device.get(id(device))
        if loop is None or line is None:
            return  # not running: run() samples every input when it starts
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self._sample, line)

    def _sample(self, line: _Input) -> None:
        """Loop thread: read the pin, debounce, emit a confirmed change, or check again when due."""
        now = time.monotonic()
        changed = line.debouncer.sample(line.asserted(), now)
        if changed is not None:
            event = line.on_assert() if changed else line.on_release()
            log.info("panel input %s %s", line.name, "asserted" if changed else "released")
            if event is not None and self._emit is not None:
                self.events_emitted += 1
                self._emit(event)
        due = line.debouncer.due()
        old = self._timers.pop(line.name, None)
        if old is not None:
            old.cancel()
        if due is not None and self._loop is not None:
            self._timers[line.name] = self._loop.call_later(max(0.0, due - now), self._sample, line)
