"""Hardware abstraction: the only firmware module that talks to `machine`.

Every class takes the `machine` module as a parameter instead of importing it, so the same code runs on
the board (the real `machine`) and on the host (simulators/doors/shim.py, a `machine` look-alike whose pins
are driven by a door physics model). The logic above (door.py, sensors.py, controller.py) sees only these
small objects and never `machine` itself.
"""

TICKS_PERIOD = 1 << 30  # MicroPython's ticks_ms wraps at 2**30
TICKS_HALF = TICKS_PERIOD // 2


def ticks_diff(later, earlier):
    """later - earlier in ms, correct across the ticks_ms wrap (same result as time.ticks_diff)."""
    return ((later - earlier + TICKS_HALF) & (TICKS_PERIOD - 1)) - TICKS_HALF


def ticks_add(ticks, delta):
    return (ticks + delta) & (TICKS_PERIOD - 1)


class DigitalIn:
    """A contact or sensor input; `active()` hides the wiring polarity. spec = (gpio, active_low)."""

    def __init__(self, machine, spec):
        gpio, active_low = spec
        pull = machine.Pin.PULL_UP if active_low else machine.Pin.PULL_DOWN
        self._pin = machine.Pin(gpio, machine.Pin.IN, pull)
        self._active_level = 0 if active_low else 1

    def active(self):
        return self._pin.value() == self._active_level


class DigitalOut:
    def __init__(self, machine, gpio, on=False):
        self._pin = machine.Pin(gpio, machine.Pin.OUT, value=1 if on else 0)
        self.on = on

    def set(self, on):
        on = bool(on)
        if on != self.on:
            self._pin.value(1 if on else 0)
            self.on = on


class Motor:
    """H-bridge: a direction pin and a PWM enable. drive(+1) opens, drive(-1) closes, drive(0) stops."""

    def __init__(self, machine, dir_gpio, pwm_gpio, freq, duty):
        self._dir = machine.Pin(dir_gpio, machine.Pin.OUT, value=0)
        self._pwm = machine.PWM(machine.Pin(pwm_gpio, machine.Pin.OUT, value=0))
        self._pwm.freq(freq)
        self._pwm.duty_u16(0)
        self._duty = duty
        self.direction = 0

    def drive(self, direction):
        if direction == self.direction:
            return
        if direction == 0:
            self._pwm.duty_u16(0)
        else:
            self._dir.value(1 if direction > 0 else 0)
            self._pwm.duty_u16(self._duty)
        self.direction = direction


class CurrentSense:
    def __init__(self, machine, gpio):
        self._adc = machine.ADC(machine.Pin(gpio))

    def read(self):
        return self._adc.read_u16()


class Encoder:
    """Quadrature encoder counted in a pin interrupt (A rising; B gives the direction). Opening counts up."""

    def __init__(self, machine, pins):
        self.count = 0
        self._b = machine.Pin(pins[1], machine.Pin.IN, machine.Pin.PULL_UP)
        self._a = machine.Pin(pins[0], machine.Pin.IN, machine.Pin.PULL_UP)
        self._a.irq(trigger=machine.Pin.IRQ_RISING, handler=self._edge)

    def _edge(self, pin):
        self.count += 1 if self._b.value() else -1


class ShiftIn:
    """74HC165 chain read by bit-banging: pulse LOAD low, then read DATA and pulse CLOCK once per bit.
    read() returns the raw levels, bit i = the i-th bit shifted out."""

    def __init__(self, machine, load, clock, data, bits):
        self._load = machine.Pin(load, machine.Pin.OUT, value=1)
        self._clock = machine.Pin(clock, machine.Pin.OUT, value=0)
        self._data = machine.Pin(data, machine.Pin.IN)
        self.bits = bits

    def read(self):
        load, clock, data = self._load, self._clock, self._data
        load.value(0)
        load.value(1)
        value = 0
        for i in range(self.bits):
            if data.value():
                value |= 1 << i
            clock.value(1)
            clock.value(0)
        return value


class Watchdog:
    """machine.WDT, started only when asked (it cannot be stopped once running)."""

    def __init__(self, machine, timeout_ms):
        self._wdt = machine.WDT(timeout=timeout_ms)

    def feed(self):
        self._wdt.feed()


def reset_cause(machine):
    """The protocol's RESET_* code for machine.reset_cause()."""
    cause = machine.reset_cause()
    if cause == getattr(machine, "PWRON_RESET", -1):
        return 1
    if cause == getattr(machine, "WDT_RESET", -1):
        return 2
    if cause == getattr(machine, "SOFT_RESET", -1):
        return 3
    return 0


def next_boot_count(path="boot.count"):
    """Increment and return the boot counter kept in flash (a missing or damaged file counts from 0)."""
    try:
        with open(path) as stored:
            count = int(stored.read().strip() or "0")
    except (OSError, ValueError):
        count = 0
    count = (count + 1) & 0xFFFFFFFF
    try:
        with open(path, "w") as stored:
            stored.write(str(count))
    except OSError:
        pass  # a full or read-only filesystem must not stop the doors
    return count
