# Runs INSIDE MicroPython (not CPython): the firmware modules imported flat, as on the board, driven
# through a minimal `machine` stand-in. Prints "OK <checks>" at the end; any failure raises.
import sys

sys.path.insert(0, "/")

import controller
import protocol as P

import config

checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


# --- protocol under the real VM ---
check(P.crc16(b"123456789") == 0x29B1, "crc check value")
messages = [
    P.Hello(P.ROLE_MCU, P.VERSION, 1, 2, 3, 70000, P.RESET_WATCHDOG, seq=1),
    P.Heartbeat(seq=2),
    P.Command(P.OP_OPEN, P.DOOR_ENTRY, 0, seq=65535),
    P.Ack(3, seq=4),
    P.Nack(3, P.NACK_FIRE_ACTIVE, seq=5),
    P.Status(P.SF_FIRE, P.SAFE_EGRESS, [P.DoorStatus(1, 1, 0, 0), P.DoorStatus(5, 4, 1, 255)], 1, 165, 1, 2, 2,
             4294967295, seq=6),
    P.Event(P.EV_MORE_THAN_ONE, P.DOOR_ALL, 2, 123456, seq=7),
]
stream = b"\x17\x99garbage"
for m in messages:
    stream += P.encode(m)
decoder = P.Decoder()
out = []
for i in range(len(stream)):
    out.extend(decoder.feed(stream[i : i + 1]))
check(isinstance(out[0], P.ProtocolError), "garbage is an error")
check(out[1:] == messages, "round trip: " + repr(out[1:]))
check(repr(out[-1]).startswith("Event(seq=7"), "repr")
check([e.code for e in P.Decoder().feed(b"\x01" * 500)] == [P.E_OVERFLOW], "overflow")
w = P.SeqWindow(8)
for s in range(100, 120):
    w.record(s, 0)
check(w.check(100)[0] == P.STALE and w.check(119)[0] == P.DUPLICATE, "window")


# --- a minimal machine ---
LEVELS = {}
DUTY = {}


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 4
    IRQ_FALLING = 8

    def __init__(self, gpio, mode=-1, pull=-1, value=None):
        self.id = gpio
        if mode == Pin.OUT:
            LEVELS[gpio] = value or 0
        elif pull == Pin.PULL_UP and gpio not in LEVELS:
            LEVELS[gpio] = 1

    def value(self, level=None):
        if level is None:
            return LEVELS.get(self.id, 0)
        LEVELS[self.id] = level

    def irq(self, handler=None, trigger=4):
        pass


class PWM:
    def __init__(self, pin):
        self.pin = pin.id

    def freq(self, hz):
        pass

    def duty_u16(self, value):
        DUTY[self.pin] = value


class ADC:
    def __init__(self, pin):
        pass

    def read_u16(self):
        return 0


class Machine:
    pass


machine = Machine()
machine.Pin = Pin
machine.PWM = PWM
machine.ADC = ADC
LEVELS[config.BEAM_CHAIN["data"]] = 1  # every beam intact

c = controller.Controller(machine, config, 0, 7, P.RESET_POWER_ON)
frames = P.Decoder().feed(c.take_output())
check(isinstance(frames[0], P.Hello) and frames[0].boot_count == 7, "hello at boot")
check(DUTY[config.DOORS[0]["pwm"]] > 0, "entry motor driven to the safe state at power-on")
now = 0
for _ in range(5):
    now += config.TICK_MS
    c.tick(now)
check(c.healthy, "healthy tick")
c.receive(P.encode(P.Hello(P.ROLE_HOST, boot_count=42, seq=1)), now)
c.receive(P.encode(P.Command(P.OP_OPEN, P.DOOR_EXIT, seq=2)), now)
answers = [f for f in P.Decoder().feed(c.take_output()) if isinstance(f, (P.Ack, P.Nack))]
check(answers and isinstance(answers[-1], P.Ack) and answers[-1].acked_seq == 2, "ack")
LEVELS[config.FIRE_INPUT[0]] = 0  # fire (active low)
now += config.TICK_MS
c.tick(now)
c.receive(P.encode(P.Command(P.OP_CLOSE, P.DOOR_EXIT, seq=3)), now)
frames = P.Decoder().feed(c.take_output())
nacks = [f for f in frames if isinstance(f, P.Nack)]
check(nacks and nacks[-1].reason == P.NACK_FIRE_ACTIVE, "fire refuses close")
check([f for f in frames if isinstance(f, P.Event) and f.code == P.EV_FIRE_ON], "fire event")
for _ in range(120):
    now += config.TICK_MS
    c.tick(now)
check(not c.link_ok, "link lost after silence")
print("OK", checks)
