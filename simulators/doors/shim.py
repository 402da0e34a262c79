"""A `machine` look-alike for running the real firmware on the host (the HAL shim).

firmware/hal.py takes the `machine` module as a parameter; here is one whose pins are plain levels in a
dict: the firmware writes its outputs into it, the door physics writes the inputs. It models the parts of
MicroPython's API the firmware uses (Pin with IRQs, PWM, ADC, WDT, reset_cause) and the 74HC165 chain the
passage beams are read through, bit for bit, so hal.ShiftIn's bit-banging runs unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class FakePin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 4
    IRQ_FALLING = 8
    _machine: FakeMachine  # bound by FakeMachine's per-instance subclass

    def __init__(self, gpio: int, mode: int = -1, pull: int = -1, *, value: int | None = None) -> None:
        self.id = gpio
        machine = self._machine
        if mode == self.OUT:
            machine.outputs.add(gpio)
            machine.write(gpio, value or 0)
        elif pull == self.PULL_UP:
            machine.levels.setdefault(gpio, 1)  # an unconnected pulled-up input reads 1

    def value(self, level: int | None = None) -> int | None:
        if level is None:
            return self._machine.levels.get(self.id, 0)
        self._machine.write(self.id, 1 if level else 0)
        return None

    def irq(self, handler: Callable[[Any], None] | None = None, trigger: int = IRQ_RISING) -> None:
        self._machine.irqs[self.id] = (trigger, handler, self)


class FakePWM:
    _machine: FakeMachine

    def __init__(self, pin: FakePin, freq: int = 0, duty_u16: int = 0) -> None:
        self.pin = pin.id
        self._machine.pwm[self.pin] = duty_u16

    def freq(self, hz: int | None = None) -> int:
        return 20000

    def duty_u16(self, duty: int | None = None) -> int:
        if duty is None:
            return self._machine.pwm[self.pin]
        self._machine.pwm[self.pin] = int(duty)
        return duty


class FakeADC:
    _machine: FakeMachine

    def __init__(self, pin: FakePin | int) -> None:
        self.pin = pin.id if isinstance(pin, FakePin) else pin

    def read_u16(self) -> int:
        return self._machine.adc.get(self.pin, 0)


class FakeWDT:
    _machine: FakeMachine

    def __init__(self, id: int = 0, timeout: int = 5000) -> None:  # machine.WDT(id, timeout)
        self._machine.wdt_timeout_ms = timeout
        self._machine.wdt_fed_ms = self._machine.now_ms

    def feed(self) -> None:
        self._machine.wdt_fed_ms = self._machine.now_ms


class ShiftRegister165:
    """A chain of 74HC165: LOAD low latches `inputs`; each CLOCK rising edge (LOAD high) shifts the next
    one onto DATA. `inputs[i]` is the level of the i-th bit shifted out."""

    def __init__(self, machine: FakeMachine, load: int, clock: int, data: int, bits: int) -> None:
        self.machine = machine
        self.load, self.clock, self.data, self.bits = load, clock, data, bits
        self.inputs = [1] * bits
        self._latched = list(self.inputs)
        self._index = 0

    def on_write(self, gpio: int, old: int, new: int) -> None:
        if gpio == self.load and new == 0:
            self._latched = list(self.inputs)
            self._index = 0
        elif gpio == self.clock and old == 0 and new == 1 and self.machine.levels.get(self.load, 1):
            self._index += 1
        else:
            return
        level = self._latched[self._index] if self._index < self.bits else 0
        self.machine.levels[self.data] = level


class FakeMachine:
    """One board's worth of pins. Create a new one per boot: outputs start low, as after a reset."""

    PWRON_RESET = 1
    HARD_RESET = 2
    WDT_RESET = 3
    DEEPSLEEP_RESET = 4
    SOFT_RESET = 5

    def __init__(self, cause: int = PWRON_RESET) -> None:
        self.levels: dict[int, int] = {}
        self.outputs: set[int] = set()
        self.pwm: dict[int, int] = {}
        self.adc: dict[int, int] = {}
        self.irqs: dict[int, tuple[int, Callable[[Any], None] | None, FakePin]] = {}
        self.cause = cause
        self.now_ms = 0
        self.wdt_timeout_ms: int | None = None
        self.wdt_fed_ms = 0
        self.shift_registers: list[ShiftRegister165] = []
        bindings = {"_machine": self}
        self.Pin = type("Pin", (FakePin,), bindings)
        self.PWM = type("PWM", (FakePWM,), bindings)
        self.ADC = type("ADC", (FakeADC,), bindings)
        self.WDT = type("WDT", (FakeWDT,), bindings)

    def reset_cause(self) -> int:
        return self.cause

    # --- firmware side ------------------------------------------------------------------------------------

    def write(self, gpio: int, level: int) -> None:
        old = self.levels.get(gpio, 0)
        self.levels[gpio] = level
        for register in self.shift_registers:
            register.on_write(gpio, old, level)

    # --- world side ---------------------------------------------------------------------------------------

    def set_input(self, gpio: int, level: int) -> None:
        """Drive an input from outside; fires the pin's IRQ handler on a matching edge."""
        old = self.levels.get(gpio, 0)
        self.levels[gpio] = level
        if old == level or gpio not in self.irqs:
            return
        trigger, handler, pin = self.irqs[gpio]
        edge = FakePin.IRQ_RISING if level else FakePin.IRQ_FALLING
        if handler is not None and trigger & edge:
            handler(pin)

    def output(self, gpio: int) -> int:
        return self.levels.get(gpio, 0)

    def duty(self, gpio: int) -> int:
        return self.pwm.get(gpio, 0)

    def watchdog_expired(self, now_ms: int) -> bool:
        return self.wdt_timeout_ms is not None and now_ms - self.wdt_fed_ms > self.wdt_timeout_ms
