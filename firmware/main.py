"""Board entry point (MicroPython runs main.py after boot): the link port and the control loop.

Everything with logic lives in controller.py; this file only moves bytes and time. The hardware watchdog
is started after the controller has put the doors in the safe state and is fed only after a tick that
completed (`controller.healthy`); an exception stops the motors and lets the watchdog reset the board.
"""

import sys
import time

import hal
import machine
from controller import Controller

import config


class UartPort:
    def __init__(self):
        self._uart = machine.UART(
            config.UART_ID,
            baudrate=config.BAUDRATE,
            tx=machine.Pin(config.UART_TX),
            rx=machine.Pin(config.UART_RX),
            timeout=0,
            rxbuf=512,
        )

    def read(self):
        if self._uart.any():
            return self._uart.read()
        return None

    def write(self, data):
        self._uart.write(data)


class UsbPort:
    """USB CDC through sys.stdin/stdout, in binary, with Ctrl-C disabled (0x03 is a valid byte here)."""

    def __init__(self):
        import select

        import micropython

        micropython.kbd_intr(-1)
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)

    def read(self):
        data = bytearray()
        while len(data) < 256 and self._poll.poll(0):
            data.extend(self._in.read(1))
        return data

    def write(self, data):
        self._out.write(data)


def stop_motors():
    """Last resort after a crash: every motor enable low, so nothing moves until the watchdog resets us."""
    for spec in config.DOORS:
        try:  # noqa: SIM105 - no contextlib on the board
            machine.Pin(spec["pwm"], machine.Pin.OUT, value=0)
        except Exception:  # keep going for the other door
            pass


def main():
    if hal.DigitalIn(machine, config.MAINTENANCE_PIN).active():
        print("door controller: maintenance jumper set, not starting")
        return
    cause = hal.reset_cause(machine)
    boot_count = hal.next_boot_count()
    now = time.ticks_ms()
    controller = Controller(machine, config, now, boot_count, cause)
    port = UartPort() if config.LINK == "uart" else UsbPort()
    watchdog = hal.Watchdog(machine, config.WDT_TIMEOUT_MS)
    next_tick = now
    try:
        while True:
            data = port.read()
            now = time.ticks_ms()
            if data:
                controller.receive(data, now)
            if time.ticks_diff(now, next_tick) >= 0:
                controller.tick(now)
                next_tick = time.ticks_add(next_tick, config.TICK_MS)
                if time.ticks_diff(now, next_tick) > 0:
                    next_tick = now  # fell behind: do not burst to catch up
                if controller.healthy:
                    watchdog.feed()
            out = controller.take_output()
            if out:
                port.write(out)
            time.sleep_ms(1)
    except Exception as error:  # anything: stop moving and let the watchdog reset the board
        stop_motors()
        sys.print_exception(error)
        while True:
            time.sleep_ms(100)


main()
