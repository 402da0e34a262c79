"""The GPIO panel on gpiozero's own MockFactory: lights, buzzer patterns, and the gate's safety inputs.

Inputs are driven the way the wiring would drive them (fire loop and cabinet switch closed to ground at
rest), the panel runs as an asyncio task, and events arrive through its emit exactly as in the daemon.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

import pytest
from gpiozero.pins.mock import MockFactory

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
from edge.panel.gpio import CHIME, GpioPanel, PanelError
from edge.panel.settings import PanelSettings

DEBOUNCE = 0.02
SETTINGS = PanelSettings(pin_factory="mock", debounce_s=DEBOUNCE)


class Harness:
    """A panel on a fresh MockFactory, wired at rest, and the events it emitted (thread-safe list)."""

    def __init__(self, settings: PanelSettings = SETTINGS) -> None:
        self.factory = MockFactory()
        self.settings = settings
        self.panel = GpioPanel(settings, pin_factory=self.factory)
        self.events: list[Event] = []
        self._lock = threading.Lock()
        # At rest: the fire loop and the cabinet switch are closed (pins low); button and key are open (high).
        self.pin(settings.fire_alarm).drive_low()
        self.pin(settings.tamper).drive_low()

    def pin(self, number: int):
        return self.factory.pin(number)

    def emit(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def seen(self) -> list[Event]:
        with self._lock:
            return list(self.events)

    async def wait_for(self, count: int, timeout: float = 2.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while len(self.seen()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} events, got {self.seen()}")
            await asyncio.sleep(0.005)
        return self.seen()

    def run(self, scenario: Callable[[Harness], Awaitable[None]]) -> None:
        async def main() -> None:
            task = asyncio.create_task(self.panel.run(self.emit))
            await asyncio.sleep(0)
            try:
                await scenario(self)
            finally:
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        try:
            asyncio.run(main())
        finally:
            self.panel.close()


@pytest.fixture
def gate_panel():
    return Harness()


# --- inputs -------------------------------------------------------------------------------------------------


def test_opening_the_fire_loop_raises_the_fire_alarm_and_closing_it_clears_it(gate_panel):
    async def scenario(h: Harness) -> None:
        h.pin(h.settings.fire_alarm).drive_high()  # the fire panel opens its loop
        assert await h.wait_for(1) == [FireAlarmOn()]
        h.pin(h.settings.fire_alarm).drive_low()
        assert await h.wait_for(2) == [FireAlarmOn(), FireAlarmOff()]

    gate_panel.run(scenario)


def test_a_cut_fire_loop_wire_counts_as_fire():
    h = Harness()
    h.pin(h.settings.fire_alarm).drive_high()  # the pull-up wins when the wire is cut

    async def scenario(h: Harness) -> None:
        assert await h.wait_for(1) == [FireAlarmOn()]

    h.run(scenario)


def test_a_glitch_shorter_than_the_debounce_time_is_ignored(gate_panel):
    async def scenario(h: Harness) -> None:
        pin = h.pin(h.settings.fire_alarm)
        for _ in range(5):
            pin.drive_high()
            pin.drive_low()
        await asyncio.sleep(DEBOUNCE * 5)
        assert h.seen() == []

    gate_panel.run(scenario)


def test_a_bouncing_contact_is_reported_once_at_the_level_it_settles_on(gate_panel):
    async def scenario(h: Harness) -> None:
        pin = h.pin(h.settings.fire_alarm)
        for level in (1, 0, 1, 0, 1):
            pin.drive_high() if level else pin.drive_low()
            await asyncio.sleep(DEBOUNCE / 4)
        assert await h.wait_for(1) == [FireAlarmOn()]
        await asyncio.sleep(DEBOUNCE * 3)
        assert h.seen() == [FireAlarmOn()]

    gate_panel.run(scenario)


def test_edges_from_another_thread_reach_the_loop(gate_panel):
    """gpiozero's real factories call back from their own thread."""

    async def scenario(h: Harness) -> None:
        await asyncio.to_thread(h.pin(h.settings.fire_alarm).drive_high)
        assert await h.wait_for(1) == [FireAlarmOn()]

    gate_panel.run(scenario)


def test_the_emergency_button_asks_for_an_emergency_opening_from_the_panel(gate_panel):
    async def scenario(h: Harness) -> None:
        button = h.pin(h.settings.emergency_button)
        button.drive_low()  # pressed: shorted to ground
        assert await h.wait_for(1) == [EmergencyOpen(origin="panel")]
        button.drive_high()  # released: nothing more to say
        await asyncio.sleep(DEBOUNCE * 3)
        assert h.seen() == [EmergencyOpen(origin="panel")]

    gate_panel.run(scenario)


def test_opening_the_cabinet_raises_the_tamper_alarm(gate_panel):
    async def scenario(h: Harness) -> None:
        h.pin(h.settings.tamper).drive_high()
        assert await h.wait_for(1) == [TamperAlarm()]

    gate_panel.run(scenario)


def test_the_service_key_takes_the_gate_out_of_service_and_back(gate_panel):
    async def scenario(h: Harness) -> None:
        key = h.pin(h.settings.service_key)
        key.drive_low()
        assert await h.wait_for(1) == [OutOfService(origin="service_key")]
        key.drive_high()
        assert await h.wait_for(2) == [OutOfService(origin="service_key"), InService(origin="service_key")]

    gate_panel.run(scenario)


def test_conditions_present_at_start_are_reported_once_but_resting_inputs_say_nothing():
    h = Harness()
    h.pin(h.settings.service_key).drive_low()  # the key was left in "service"
    h.pin(h.settings.tamper).drive_high()  # and the cabinet is open

    async def scenario(h: Harness) -> None:
        events = await h.wait_for(2)
        assert sorted(map(repr, events)) == sorted([repr(OutOfService(origin="service_key")), repr(TamperAlarm())])
        await asyncio.sleep(DEBOUNCE * 3)
        assert len(h.seen()) == 2  # no InService / FireAlarmOff for inputs at rest

    h.run(scenario)


def test_polarity_and_pull_come_from_the_settings():
    """A fire panel whose relay closes on alarm (normally open), pulled down, active high."""
    settings = PanelSettings(
        pin_factory="mock", debounce_s=DEBOUNCE, fire_alarm_pull_up=False, fire_alarm_active_high=True
    )
    h = Harness(settings)
    h.pin(settings.fire_alarm).drive_low()  # at rest: the pull-down holds it low

    async def scenario(h: Harness) -> None:
        await asyncio.sleep(DEBOUNCE * 3)
        assert h.seen() == []
        h.pin(settings.fire_alarm).drive_high()
        assert await h.wait_for(1) == [FireAlarmOn()]

    h.run(scenario)


def test_health_names_the_conditions_present(gate_panel):
    async def scenario(h: Harness) -> None:
        assert h.panel.health().detail == "inputs: all clear"
        h.pin(h.settings.tamper).drive_high()
        await h.wait_for(1)
        health = h.panel.health()
        assert health.ok and health.detail == "inputs: tamper" and health.figures["tamper"] == 1.0

    gate_panel.run(scenario)
    assert not gate_panel.panel.health().ok  # closed after the run


# --- outputs ------------------------------------------------------------------------------------------------


def test_guidance_lights_show_a_green_arrow_or_a_red_cross_on_each_side(gate_panel):
    s, h = SETTINGS, gate_panel
    lit = lambda pin: h.pin(pin).state == 1  # noqa: E731

    h.panel.set_lights(entry=Light.GREEN_ARROW, exit=Light.RED_CROSS)
    assert (lit(s.entry_green), lit(s.entry_red), lit(s.exit_green), lit(s.exit_red)) == (True, False, False, True)
    h.panel.set_lights(entry=Light.RED_CROSS, exit=Light.GREEN_ARROW)
    assert (lit(s.entry_green), lit(s.entry_red), lit(s.exit_green), lit(s.exit_red)) == (False, True, True, False)
    h.panel.set_lights(entry=Light.OFF, exit=Light.OFF)
    assert not any(lit(p) for p in (s.entry_green, s.entry_red, s.exit_green, s.exit_red))
    h.panel.close()


def test_active_low_lamps_are_driven_low_to_light():
    settings = PanelSettings(pin_factory="mock", lights_active_high=False)
    factory = MockFactory()
    panel = GpioPanel(settings, pin_factory=factory)
    try:
        panel.set_lights(entry=Light.GREEN_ARROW, exit=Light.OFF)
        assert factory.pin(settings.entry_green).state == 0
        assert factory.pin(settings.entry_red).state == 1
    finally:
        panel.close()


def _wait(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_the_chime_is_two_short_pips_and_sound_returns_at_once(gate_panel):
    buzzer = gate_panel.pin(SETTINGS.buzzer)
    buzzer.clear_states()
    started = time.monotonic()
    gate_panel.panel.sound(BuzzerPattern.CHIME)
    assert time.monotonic() - started < CHIME[0]  # no blocking: gpiozero times the beeps in its thread
    _wait(lambda: len(buzzer.states) >= 5)
    time.sleep(0.05)
    assert [s.state for s in buzzer.states] == [False, True, False, True, False]
    gate_panel.panel.close()


def test_the_warning_beeps_until_silenced(gate_panel):
    buzzer = gate_panel.pin(SETTINGS.buzzer)
    buzzer.clear_states()
    gate_panel.panel.sound(BuzzerPattern.WARNING)
    _wait(lambda: len(buzzer.states) >= 4)  # still beeping after the first cycle
    gate_panel.panel.sound(BuzzerPattern.SILENT)
    assert buzzer.state == 0
    count = len(buzzer.states)
    time.sleep(0.6)
    assert len(buzzer.states) == count  # stopped for good
    gate_panel.panel.close()


def test_the_alarm_is_continuous_and_a_new_pattern_replaces_the_old(gate_panel):
    buzzer = gate_panel.pin(SETTINGS.buzzer)
    gate_panel.panel.sound(BuzzerPattern.WARNING)
    gate_panel.panel.sound(BuzzerPattern.ALARM)
    buzzer.clear_states()
    time.sleep(0.6)
    assert buzzer.state == 1 and len(buzzer.states) == 1  # on, no toggling
    gate_panel.panel.close()
    assert buzzer.state == 0  # closing the panel silences it


# --- set-up -------------------------------------------------------------------------------------------------


def test_a_pin_used_twice_is_a_clear_error():
    settings = PanelSettings(pin_factory="mock", buzzer=5)  # same as entry_green
    with pytest.raises(PanelError, match="cannot set up the GPIO pins"):
        GpioPanel(settings, pin_factory=MockFactory())


def test_an_unavailable_pin_factory_is_a_clear_error():
    from edge.panel.gpio import make_pin_factory

    with pytest.raises(PanelError, match=r"panel\.pin_factory"):
        make_pin_factory("rpigpio")  # RPi.GPIO is not installed on this machine
