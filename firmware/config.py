"""Pin map and timings of the door controller: the one place to change for another board or gate.

Board: an RP2040 (Raspberry Pi Pico class). Inputs are given as (gpio, active_low); "active" means door at
the end stop, beam broken, fire alarm on. The passage beams are read through a chain of three 74HC165
shift registers (24 inputs on 3 pins). The simulator copies this module and overrides what a test needs
(see simulators/doors/sim.py), so every name here is plain data.
"""

try:
    from firmware import protocol
except ImportError:  # on the board the modules sit side by side
    import protocol

FIRMWARE_VERSION = (1, 0, 0)

# --- link to the gate computer ----------------------------------------------------------------------------
LINK = "usb"  # "usb": USB CDC (sys.stdin/stdout, REPL detached), or "uart"
UART_ID = 0
UART_TX = 0
UART_RX = 1
BAUDRATE = 115200
# Held active at power-on (a jumper to ground): main.py does not start, the REPL stays free for mpremote.
# Needed with LINK = "usb": the running firmware disables Ctrl-C, so mpremote could not stop it otherwise.
MAINTENANCE_PIN = (22, True)

# --- timings (ms) -----------------------------------------------------------------------------------------
TICK_MS = 10  # control loop period
LINK_TIMEOUT_MS = 1000  # no valid frame from the host for this long: safe state
STATUS_PERIOD_MS = 250  # STATUS also goes out on every change
HELLO_PERIOD_MS = 1000  # HELLO repeated while no host session
EVENT_RETRY_MS = 100  # unacknowledged EVENT resent this often
EVENT_QUEUE = 16  # unacknowledged events kept (oldest dropped beyond)
WDT_TIMEOUT_MS = 500  # hardware watchdog (RP2040 maximum is 8388 ms)
SEQ_WINDOW = 32  # duplicate-detection window for host command sequence numbers (taken in order)

# --- safety -----------------------------------------------------------------------------------------------
SAFE_STATE = protocol.SAFE_RETURN  # at power-on and on link loss (the host may change the link-loss one)
SAFE_RETRY_MS = 2000  # without a host: retry a door kept from its safe position (obstruction, fire)
FIRE_INPUT = (17, True)  # fire-alarm panel relay, normally closed to ground: open circuit = fire
STATUS_LED = 25

# --- doors ------------------------------------------------------------------------------------------------
MOTOR_PWM_FREQ = 20000  # Hz, above hearing
MOTOR_DUTY = 45000  # duty_u16 while moving (of 65535)
MOTION_TIMEOUT_MS = 4000  # end stop not reached: fault (a door travels in about 1.5 s)
CURRENT_LIMIT = 40000  # ADC read_u16 above this while moving: obstruction (closing) or jam (opening)
CURRENT_BLANKING_MS = 150  # ignore the inrush current after the motor starts
LOCK_RELEASE_MS = 40  # let the lock bolt retract before the motor pulls
ENCODER_COUNTS = 1200  # counts from closed to open, when an encoder is fitted

# One entry per door, index = protocol.DOOR_ENTRY / DOOR_EXIT.
DOORS = (
    {
        "name": "entry",
        "dir": 2,  # H-bridge direction: 1 = opening
        "pwm": 3,  # H-bridge enable (PWM)
        "open_stop": (4, True),
        "closed_stop": (5, True),
        "safety_beam": (6, True),  # beam across the door leaves: broken = something in the way
        "lock": 7,  # lock solenoid driver: 1 = locked
        "current_adc": 26,  # motor current shunt amplifier (ADC0)
        "encoder": None,  # or (pin_a, pin_b)
    },
    {
        "name": "exit",
        "dir": 8,
        "pwm": 9,
        "open_stop": (10, True),
        "closed_stop": (11, True),
        "safety_beam": (12, True),
        "lock": 13,
        "current_adc": 27,
        "encoder": None,
    },
)

# --- passage beams (74HC165 chain) ------------------------------------------------------------------------
BEAM_CHAIN = {"load": 14, "clock": 15, "data": 16, "bits": 24}
BEAMS_ACTIVE_LOW = True  # a receiver outputs 1 while it sees its emitter: 0 = beam broken
# bit positions in the chain (read order), each group ordered from the entry towards the exit
ENTRY_BEAMS = (0, 1)  # outer (public side), inner (compartment side)
BODY_BEAMS = (2, 3, 4, 5, 6, 7, 8, 9)  # compartment, body height
FLOOR_BEAMS = (10, 11, 12, 13, 14, 15, 16, 17)  # compartment, 15 cm above the floor (luggage)
EXIT_BEAMS = (18, 19)  # inner (compartment side), outer

# --- passage logic ----------------------------------------------------------------------------------------
OCCUPIED_MS = 100  # beams broken this long: compartment occupied
EMPTY_MS = 500  # every beam clear this long: compartment empty (person count reset)
MAX_PERSON_BEAMS = 2  # one person breaks at most this many adjacent body beams (beams 20 cm apart)
MULTI_PERSON_MS = 300  # a more-than-one pattern must last this long
OBJECT_LEFT_MS = 2000  # floor beams broken, body beams clear, this long: object left behind
OBJECT_REMOVED_MS = 300
