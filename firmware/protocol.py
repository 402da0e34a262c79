"""The door-controller link protocol: ONE definition shared by the firmware (MicroPython) and the host.

Written in the subset of Python that MicroPython runs: plain classes, ints, bytes/bytearray and `struct`;
no dataclasses, no typing, no enum. Sans-I/O: nothing here touches a port or a clock.

Wire format (see firmware/PROTOCOL.md for the full tables):

    0x00 | COBS( version:u8 | type:u8 | seq:u16be | body | crc16:u16be ) | 0x00

CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0; check("123456789") == 0x29B1),
table-driven, computed over version..body. Every frame starts AND ends with the 0x00 delimiter so that
line noise before a frame is cut off by its leading delimiter instead of spoiling it.

Usage (both sides):

    decoder = Decoder()
    for item in decoder.feed(chunk):          # any chunking, any garbage
        if isinstance(item, ProtocolError):   # counted and dropped, the stream resynchronises by itself
            ...
        else:                                 # a Message subclass: Hello, Command, Ack, Nack, Status, ...
            ...
    port.write(encode(Command(OP_OPEN, DOOR_ENTRY, seq=7)))
"""

import struct

VERSION = 1  # the protocol version byte of every frame

# --- message types -------------------------------------------------------------------------------------
T_HELLO = 0x01
T_HEARTBEAT = 0x02
T_COMMAND = 0x10
T_ACK = 0x11
T_NACK = 0x12
T_STATUS = 0x20
T_EVENT = 0x21

# --- doors ----------------------------------------------------------------------------------------------
DOOR_ENTRY = 0
DOOR_EXIT = 1
DOOR_ALL = 0xFF  # both doors, or "no particular door" for operations that are not per door
DOORS = (DOOR_ENTRY, DOOR_EXIT)
DOOR_NAMES = {DOOR_ENTRY: "entry", DOOR_EXIT: "exit", DOOR_ALL: "all"}

# --- command operations (host -> MCU) ---------------------------------------------------------------------
OP_OPEN = 1  # door: unlock and open
OP_CLOSE = 2  # door: close, leave unlocked
OP_LOCK = 3  # door: close and engage the lock once closed
OP_UNLOCK = 4  # door: release the lock, do not move
OP_SAFE_STATE = 5  # drive the doors to the configured safe state now
OP_SET_SAFE_STATE = 6  # arg = SAFE_*: the state applied on link loss (RAM only; power-on uses config.py)
OP_EMERGENCY = 7  # arg 1: open all doors and refuse closing (like fire) until arg 0
OP_CLEAR_FAULT = 8  # door: forget a latched fault so the door accepts close/lock again
OP_REQUEST_STATUS = 9  # send a STATUS now
OP_RESET_SENSORS = 10  # forget the person count and the latched multi-person/object flags
OP_NAMES = {
    OP_OPEN: "open",
    OP_CLOSE: "close",
    OP_LOCK: "lock",
    OP_UNLOCK: "unlock",
    OP_SAFE_STATE: "safe_state",
    OP_SET_SAFE_STATE: "set_safe_state",
    OP_EMERGENCY: "emergency",
    OP_CLEAR_FAULT: "clear_fault",
    OP_REQUEST_STATUS: "request_status",
    OP_RESET_SENSORS: "reset_sensors",
}
DOOR_OPS = (OP_OPEN, OP_CLOSE, OP_LOCK, OP_UNLOCK, OP_CLEAR_FAULT)  # these need DOOR_ENTRY/EXIT/ALL

# --- safe states (what the firmware does on link loss, at power-on and on OP_SAFE_STATE) ------------------
SAFE_RETURN = 0  # entry open, exit closed and locked: a traveller inside can only go back
SAFE_OPEN = 1  # both open (unlocked)
SAFE_CLOSED = 2  # both closed, unlocked
SAFE_LOCKED = 3  # both closed and locked
SAFE_EGRESS = 4  # entry closed and locked, exit open
SAFE_NAMES = {
    SAFE_RETURN: "return",
    SAFE_OPEN: "open",
    SAFE_CLOSED: "closed",
    SAFE_LOCKED: "locked",
    SAFE_EGRESS: "egress",
}
# per safe state: (entry op, exit op)
SAFE_STATE_OPS = {
    SAFE_RETURN: (OP_OPEN, OP_LOCK),
    SAFE_OPEN: (OP_OPEN, OP_OPEN),
    SAFE_CLOSED: (OP_CLOSE, OP_CLOSE),
    SAFE_LOCKED: (OP_LOCK, OP_LOCK),
    SAFE_EGRESS: (OP_LOCK, OP_OPEN),
}

# --- NACK reasons ---------------------------------------------------------------------------------------
NACK_UNKNOWN_OP = 1
NACK_BAD_DOOR = 2
NACK_BAD_ARG = 3
NACK_FIRE_ACTIVE = 4  # close/lock refused: fire alarm or host emergency holds the doors open
NACK_DOOR_FAULT = 5  # close/lock refused: the door has a latched fault (OP_CLEAR_FAULT first)
NACK_NO_SESSION = 6  # no host HELLO since the MCU booted: send HELLO, then the command again
NACK_STALE_SEQ = 7  # seq older than the last command acted on (replay, superseded): ignored; re-issue with a new seq
NACK_NAMES = {
    NACK_UNKNOWN_OP: "unknown_op",
    NACK_BAD_DOOR: "bad_door",
    NACK_BAD_ARG: "bad_arg",
    NACK_FIRE_ACTIVE: "fire_active",
    NACK_DOOR_FAULT: "door_fault",
    NACK_NO_SESSION: "no_session",
    NACK_STALE_SEQ: "stale_seq",
}

# --- door positions and faults (STATUS) -------------------------------------------------------------------
POS_UNKNOWN = 0
POS_CLOSED = 1
POS_OPENING = 2
POS_OPEN = 3
POS_CLOSING = 4
POS_STOPPED = 5  # between the end stops, motor off (after a fault)
POS_NAMES = {
    POS_UNKNOWN: "unknown",
    POS_CLOSED: "closed",
    POS_OPENING: "opening",
    POS_OPEN: "open",
    POS_CLOSING: "closing",
    POS_STOPPED: "stopped",
}

FAULT_NONE = 0
FAULT_TIMEOUT = 1  # the end stop was not reached within the motion timeout
FAULT_END_STOPS = 2  # both end stops active at once: a sensor is broken
FAULT_JAMMED = 3  # over-current while opening
FAULT_POSITION_LOST = 4  # left an end stop without being driven
FAULT_NAMES = {
    FAULT_NONE: "none",
    FAULT_TIMEOUT: "motion_timeout",
    FAULT_END_STOPS: "end_stops",
    FAULT_JAMMED: "jammed",
    FAULT_POSITION_LOST: "position_lost",
}

# per-door flags in STATUS
DF_LOCKED = 0x01  # lock output engaged
DF_OBSTRUCTED = 0x02  # safety beam broken or motor over-current right now
DF_FAULT = 0x04  # a fault is latched (see the fault code)
DF_MOVING = 0x08  # motor driven

# gate-wide flags in STATUS
SF_FIRE = 0x01  # fire-alarm input active
SF_EMERGENCY = 0x02  # host emergency open active
SF_SESSION = 0x04  # a host HELLO has been received since boot (commands are accepted)
SF_LINK_OK = 0x08  # the MCU hears the host (a valid frame within the link timeout)
SF_SAFE_STATE = 0x10  # the doors were put in the safe state (power-on, link loss, command) and no door
#                       command has been executed since
SF_EVENTS_LOST = 0x20  # the event queue overflowed since boot: the host should trust STATUS over events

# --- events (MCU -> host, acknowledged by the host) ------------------------------------------------------
EV_ENTRY_PASSAGE = 1  # someone crossed the entry beams into the compartment
EV_EXIT_PASSAGE = 2  # someone crossed the exit beams out of the compartment
EV_COMPARTMENT_OCCUPIED = 3
EV_COMPARTMENT_EMPTY = 4
EV_MORE_THAN_ONE = 5  # detail: estimated number of people (>= 2)
EV_OBJECT_LEFT = 6  # something stays on the floor beams with nobody in the compartment
EV_OBJECT_REMOVED = 7
EV_OBSTRUCTION = 8  # door: a closing door met an obstacle and reversed (detail 1 = beam, 2 = current)
EV_DOOR_FAULT = 9  # door, detail: FAULT_*
EV_FIRE_ON = 10
EV_FIRE_OFF = 11
EV_LINK_TIMEOUT = 12  # the host fell silent; detail: the SAFE_* state applied (sent once the link is back)
EV_ENTRY_RETREAT = 13  # someone went back out through the entry
EV_EXIT_INTRUSION = 14  # someone came in through the exit (wrong way)
EV_NAMES = {
    EV_ENTRY_PASSAGE: "entry_passage",
    EV_EXIT_PASSAGE: "exit_passage",
    EV_COMPARTMENT_OCCUPIED: "compartment_occupied",
    EV_COMPARTMENT_EMPTY: "compartment_empty",
    EV_MORE_THAN_ONE: "more_than_one",
    EV_OBJECT_LEFT: "object_left",
    EV_OBJECT_REMOVED: "object_removed",
    EV_OBSTRUCTION: "obstruction",
    EV_DOOR_FAULT: "door_fault",
    EV_FIRE_ON: "fire_on",
    EV_FIRE_OFF: "fire_off",
    EV_LINK_TIMEOUT: "link_timeout",
    EV_ENTRY_RETREAT: "entry_retreat",
    EV_EXIT_INTRUSION: "exit_intrusion",
}
OBSTRUCTION_BEAM = 1
OBSTRUCTION_CURRENT = 2

# --- HELLO ----------------------------------------------------------------------------------------------
ROLE_HOST = 0
ROLE_MCU = 1
RESET_UNKNOWN = 0
RESET_POWER_ON = 1
RESET_WATCHDOG = 2
RESET_SOFT = 3
RESET_NAMES = {RESET_UNKNOWN: "unknown", RESET_POWER_ON: "power_on", RESET_WATCHDOG: "watchdog", RESET_SOFT: "soft"}

# --- protocol errors (returned by Decoder.feed, never raised out of it) --------------------------------
E_OVERFLOW = 1  # more than MAX_ENCODED bytes without a delimiter: discarded up to the next 0x00
E_COBS = 2  # malformed COBS block
E_SHORT = 3  # shorter than header + CRC
E_CRC = 4
E_VERSION = 5  # protocol version byte differs from VERSION (ProtocolError.detail = the peer's version)
E_TYPE = 6  # unknown message type
E_LENGTH = 7  # body length wrong for the message type
E_VALUE = 8  # a field out of its range (unknown door, position, event code, ...)
ERROR_NAMES = {
    E_OVERFLOW: "overflow",
    E_COBS: "cobs",
    E_SHORT: "short",
    E_CRC: "crc",
    E_VERSION: "version",
    E_TYPE: "type",
    E_LENGTH: "length",
    E_VALUE: "value",
}

HEADER_SIZE = 4  # version, type, seq
CRC_SIZE = 2
MAX_BODY = 32
MAX_PAYLOAD = HEADER_SIZE + MAX_BODY + CRC_SIZE
MAX_ENCODED = MAX_PAYLOAD + 2  # COBS adds one byte per 254 (one here) and we allow one spare
SEQ_MASK = 0xFFFF
DELIMITER = b"\x00"


class ProtocolError(Exception):
    """A frame that could not be accepted. `code` is one of E_*; `detail` an int or 0."""

    def __init__(self, code, detail=0):
        super().__init__(ERROR_NAMES.get(code, "error"), detail)
        self.code = code
        self.detail = detail

    @property
    def name(self):
        return ERROR_NAMES.get(self.code, "error")

    def __eq__(self, other):
        return isinstance(other, ProtocolError) and self.code == other.code and self.detail == other.detail

    def __hash__(self):
        return hash((self.code, self.detail))

    def __repr__(self):
        return f"ProtocolError({self.name}, {self.detail})"


# --- CRC-16/CCITT-FALSE ---------------------------------------------------------------------------------


def _crc_table():
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE of `data`; pass a previous result as `crc` to continue over several pieces."""
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ byte) & 0xFF]
    return crc


# --- COBS -----------------------------------------------------------------------------------------------


def cobs_encode(data):
    """Consistent Overhead Byte Stuffing: the result contains no 0x00 byte."""
    out = bytearray(1)
    code_at = 0
    code = 1
    for byte in data:
        if byte == 0:
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
        else:
            out.append(byte)
            code += 1
            if code == 0xFF:
                out[code_at] = code
                code_at = len(out)
                out.append(0)
                code = 1
    out[code_at] = code
    return bytes(out)


def cobs_decode(data):
    """Inverse of cobs_encode; raises ProtocolError(E_COBS) on a malformed block."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise ProtocolError(E_COBS)
        i += 1
        end = i + code - 1
        if end > n:
            raise ProtocolError(E_COBS)
        for j in range(i, end):
            if data[j] == 0:
                raise ProtocolError(E_COBS)
        out.extend(data[i:end])
        i = end
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


# --- messages -------------------------------------------------------------------------------------------


def _check(condition):
    if not condition:
        raise ProtocolError(E_VALUE)


class Message:
    """Base of every message. `seq` is the sender's 16-bit sequence number (0..65535, wraps).

    Subclasses set TYPE, FIELDS (attribute names in body order) and FMT (their struct format)."""

    TYPE = 0
    FIELDS = ()
    FMT = ">"
    SIZE = 0

    def values(self):
        return tuple(getattr(self, name) for name in self.FIELDS)

    def body(self):
        if not self.FIELDS:
            return b""
        return struct.pack(self.FMT, *self.values())

    @classmethod
    def from_body(cls, seq, body):
        message = cls(*struct.unpack(cls.FMT, body)) if cls.FIELDS else cls()
        message.seq = seq
        message.validate()
        return message

    def validate(self):
        """Raise ProtocolError(E_VALUE) when a field is out of range (called on decode)."""

    def __eq__(self, other):
        return type(self) is type(other) and self.seq == other.seq and self.values() == other.values()

    def __hash__(self):
        return hash((self.TYPE, self.seq, self.values()))

    def __repr__(self):
        parts = [f"seq={self.seq}"]
        for name in self.FIELDS:
            parts.append(f"{name}={getattr(self, name)!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class Hello(Message):
    """Sent by the MCU at boot (and every second until the host answers) and by the host to open a session.

    For the MCU, `boot_count` counts boots (kept in flash) and `reset_cause` is RESET_*; for the host,
    `boot_count` is a random session number: a HELLO with a new number clears the MCU's duplicate window.
    The HELLO body layout never changes between protocol versions, so a peer can always read it."""

    TYPE = T_HELLO
    FIELDS = ("role", "protocol", "major", "minor", "patch", "boot_count", "reset_cause")
    FMT = ">BBBBBIB"

    def __init__(self, role, protocol=VERSION, major=0, minor=0, patch=0, boot_count=0, reset_cause=0, seq=0):
        self.role = role
        self.protocol = protocol
        self.major = major
        self.minor = minor
        self.patch = patch
        self.boot_count = boot_count
        self.reset_cause = reset_cause
        self.seq = seq

    def validate(self):
        _check(self.role in (ROLE_HOST, ROLE_MCU))
        _check(self.reset_cause in RESET_NAMES)

    @property
    def version_text(self):
        return f"{self.major}.{self.minor}.{self.patch}"


class Heartbeat(Message):
    """Host -> MCU when it has sent nothing else for a heartbeat period; any valid frame feeds the MCU's
    link watchdog. (The MCU's periodic STATUS is its own heartbeat.)"""

    TYPE = T_HEARTBEAT

    def __init__(self, seq=0):
        self.seq = seq


class Command(Message):
    """Host -> MCU. Acknowledged by ACK or NACK carrying this frame's seq; a retry reuses the same seq."""

    TYPE = T_COMMAND
    FIELDS = ("op", "door", "arg")
    FMT = ">BBB"

    def __init__(self, op, door=DOOR_ALL, arg=0, seq=0):
        self.op = op
        self.door = door
        self.arg = arg
        self.seq = seq

    def validate(self):
        # Unknown ops and doors are decoded (so the MCU can NACK them with a reason), not dropped.
        pass


class Ack(Message):
    """Positive answer to a COMMAND (MCU -> host) or receipt of an EVENT (host -> MCU)."""

    TYPE = T_ACK
    FIELDS = ("acked_seq",)
    FMT = ">H"

    def __init__(self, acked_seq, seq=0):
        self.acked_seq = acked_seq
        self.seq = seq


class Nack(Message):
    """Negative answer to a COMMAND: nothing was done. `reason` is NACK_*."""

    TYPE = T_NACK
    FIELDS = ("acked_seq", "reason")
    FMT = ">HB"

    def __init__(self, acked_seq, reason, seq=0):
        self.acked_seq = acked_seq
        self.reason = reason
        self.seq = seq

    def validate(self):
        _check(self.reason in NACK_NAMES)


class DoorStatus:
    """One door inside STATUS (not a message of its own)."""

    def __init__(self, position=POS_UNKNOWN, flags=0, fault=FAULT_NONE, percent=255):
        self.position = position  # POS_*
        self.flags = flags  # DF_*
        self.fault = fault  # FAULT_*
        self.percent = percent  # 0 closed .. 100 open, 255 unknown (no encoder and not at an end stop)

    @property
    def locked(self):
        return bool(self.flags & DF_LOCKED)

    @property
    def obstructed(self):
        return bool(self.flags & DF_OBSTRUCTED)

    def values(self):
        return (self.position, self.flags, self.fault, self.percent)

    def __eq__(self, other):
        return isinstance(other, DoorStatus) and self.values() == other.values()

    def __hash__(self):
        return hash(self.values())

    def __repr__(self):
        position = POS_NAMES.get(self.position, "?")
        fault = FAULT_NAMES.get(self.fault, "?")
        return f"DoorStatus({position}, flags=0x{self.flags:02x}, fault={fault}, percent={self.percent})"


class Status(Message):
    """MCU -> host on every change (at most one per control tick) and every STATUS_PERIOD_MS."""

    TYPE = T_STATUS
    FIELDS = ("flags", "safe_state", "doors", "entry_beams", "body_beams", "floor_beams", "exit_beams",
              "persons", "uptime_ms")  # fmt: skip
    FMT = ">BB" + "BBBB" * 2 + "BBBBBI"

    def __init__(self, flags=0, safe_state=SAFE_RETURN, doors=None, entry_beams=0, body_beams=0, floor_beams=0,
                 exit_beams=0, persons=0, uptime_ms=0, seq=0):  # fmt: skip
        self.flags = flags  # SF_*
        self.safe_state = safe_state  # the SAFE_* state the MCU applies on link loss
        self.doors = tuple(doors) if doors else (DoorStatus(), DoorStatus())  # (entry, exit)
        self.entry_beams = entry_beams  # bit i = beam i broken (entry pair: bit 0 outer, bit 1 inner)
        self.body_beams = body_beams  # compartment beams at body height, bit 0 nearest the entry
        self.floor_beams = floor_beams  # compartment beams near the floor (luggage), same order
        self.exit_beams = exit_beams  # exit pair: bit 0 inner (compartment side), bit 1 outer
        self.persons = persons  # people the beams count inside the compartment
        self.uptime_ms = uptime_ms  # MCU ticks_ms (wraps)
        self.seq = seq

    def body(self):
        entry, exit_ = self.doors
        return struct.pack(self.FMT, self.flags, self.safe_state, *(entry.values() + exit_.values()
                           + (self.entry_beams, self.body_beams, self.floor_beams, self.exit_beams,
                              self.persons, self.uptime_ms & 0xFFFFFFFF)))  # fmt: skip

    @classmethod
    def from_body(cls, seq, body):
        v = struct.unpack(cls.FMT, body)
        doors = (DoorStatus(v[2], v[3], v[4], v[5]), DoorStatus(v[6], v[7], v[8], v[9]))
        message = cls(v[0], v[1], doors, v[10], v[11], v[12], v[13], v[14], v[15], seq=seq)
        message.validate()
        return message

    def validate(self):
        _check(self.safe_state in SAFE_NAMES)
        for door in self.doors:
            _check(door.position in POS_NAMES)
            _check(door.fault in FAULT_NAMES)
            _check(door.percent <= 100 or door.percent == 255)

    @property
    def fire(self):
        return bool(self.flags & SF_FIRE)


class Event(Message):
    """MCU -> host: something happened. The host ACKs it with this seq; the MCU resends it (same seq)
    every EVENT_RETRY_MS until acknowledged, so the host must drop duplicates (SeqWindow)."""

    TYPE = T_EVENT
    FIELDS = ("code", "door", "detail", "time_ms")
    FMT = ">BBBI"

    def __init__(self, code, door=DOOR_ALL, detail=0, time_ms=0, seq=0):
        self.code = code
        self.door = door
        self.detail = detail
        self.time_ms = time_ms  # MCU ticks_ms when it happened (wraps)
        self.seq = seq

    def body(self):
        return struct.pack(self.FMT, self.code, self.door, self.detail, self.time_ms & 0xFFFFFFFF)

    def validate(self):
        _check(self.code in EV_NAMES)
        _check(self.door in DOOR_NAMES)

    @property
    def name(self):
        return EV_NAMES.get(self.code, "?")


MESSAGE_TYPES = {}
for _cls in (Hello, Heartbeat, Command, Ack, Nack, Status, Event):
    _cls.SIZE = struct.calcsize(_cls.FMT) if _cls.FIELDS else 0
    MESSAGE_TYPES[_cls.TYPE] = _cls


# --- frames ---------------------------------------------------------------------------------------------


def encode_payload(message):
    """version | type | seq | body | crc (before COBS)."""
    body = message.body()
    frame = bytearray(struct.pack(">BBH", VERSION, message.TYPE, message.seq & SEQ_MASK))
    frame.extend(body)
    frame.extend(struct.pack(">H", crc16(frame)))
    return bytes(frame)


def encode(message):
    """The bytes to write on the wire for `message`, delimiters included."""
    return DELIMITER + cobs_encode(encode_payload(message)) + DELIMITER


def decode_payload(payload):
    """Parse a COBS-decoded payload into a Message; raises ProtocolError."""
    n = len(payload)
    if n < HEADER_SIZE + CRC_SIZE:
        raise ProtocolError(E_SHORT)
    (received,) = struct.unpack(">H", payload[n - CRC_SIZE :])
    if crc16(payload[: n - CRC_SIZE]) != received:
        raise ProtocolError(E_CRC)
    version, kind, seq = struct.unpack(">BBH", payload[:HEADER_SIZE])
    if version != VERSION:
        raise ProtocolError(E_VERSION, version)
    cls = MESSAGE_TYPES.get(kind)
    if cls is None:
        raise ProtocolError(E_TYPE, kind)
    body = payload[HEADER_SIZE : n - CRC_SIZE]
    if len(body) != cls.SIZE:
        raise ProtocolError(E_LENGTH, kind)
    return cls.from_body(seq, body)


def decode(encoded):
    """Parse one COBS-encoded frame (without delimiters); raises ProtocolError."""
    return decode_payload(cobs_decode(encoded))


class Decoder:
    """Streaming frame decoder: feed it bytes in any chunks, get Messages and ProtocolErrors back.

    Bounded memory: a run of more than `max_encoded` bytes without a delimiter is reported once as
    E_OVERFLOW and discarded up to the next 0x00. Empty frames (two delimiters in a row) are ignored.
    Counters: frames, errors."""

    def __init__(self, max_encoded=MAX_ENCODED):
        self.max_encoded = max_encoded
        self._buffer = bytearray(max_encoded)
        self._length = 0
        self._discarding = False
        self.frames = 0
        self.errors = 0

    def reset(self):
        self._length = 0
        self._discarding = False

    def feed(self, data):
        results = []
        buffer = self._buffer
        for byte in data:
            if byte == 0:
                if self._discarding:
                    self._discarding = False
                elif self._length:
                    results.append(self._frame(bytes(buffer[: self._length])))
                self._length = 0
            elif self._discarding:
                continue
            elif self._length >= self.max_encoded:
                self._discarding = True
                self._length = 0
                self.errors += 1
                results.append(ProtocolError(E_OVERFLOW))
            else:
                buffer[self._length] = byte
                self._length += 1
        return results

    def _frame(self, encoded):
        try:
            message = decode(encoded)
        except ProtocolError as error:
            self.errors += 1
            return error
        self.frames += 1
        return message


# --- sequence numbers -----------------------------------------------------------------------------------


def next_seq(seq):
    return (seq + 1) & SEQ_MASK


def seq_newer(a, b):
    """True when 16-bit sequence number `a` is after `b` (serial-number arithmetic, RFC 1982)."""
    distance = (a - b) & SEQ_MASK
    return 0 < distance < 0x8000


NEW = 0  # never seen: act on it
DUPLICATE = 1  # seen: answer again with the remembered response, do not act
STALE = 2  # older than the window: do not act (answer NACK_STALE_SEQ)


class SeqWindow:
    """Receiver-side duplicate detection for acknowledged messages (commands at the MCU, events at the host).

    Remembers the response given to each sequence number within `size` of the newest one, so a retry
    is answered the same way without acting twice; numbers older than the window are STALE (a replay).
    Numbers inside the window that were never seen are NEW (a retry overtaken by a later message), unless
    `in_order`: then they are STALE too. The MCU takes commands in order, so a delayed or replayed copy of
    a command that a later one superseded can never act after it; the host re-issues a command refused
    as STALE under a new number if it still wants it."""

    def __init__(self, size=32, in_order=False):
        self.size = size
        self.in_order = in_order
        self.reset()

    def reset(self):
        self.newest = None
        self._responses = {}

    def check(self, seq):
        """Return (NEW | DUPLICATE | STALE, remembered response or None)."""
        if seq in self._responses:
            return DUPLICATE, self._responses[seq]
        if self.newest is None or seq_newer(seq, self.newest):
            return NEW, None
        if not self.in_order and (self.newest - seq) & SEQ_MASK < self.size:
            return NEW, None
        return STALE, None

    def record(self, seq, response):
        """Remember `response` (any value) as the answer to `seq` (call after acting on a NEW seq)."""
        self._responses[seq] = response
        if self.newest is None or seq_newer(seq, self.newest):
            self.newest = seq
            newest = seq
            size = self.size
            for old in [s for s in self._responses if (newest - s) & SEQ_MASK >= size]:
                del self._responses[old]

    def __len__(self):
        return len(self._responses)
