"""The door controller's logic: link, safety, doors and passage sensors, driven by `tick(now_ms)`.

No loop and no clock in here: main.py (on the board) or the simulator (on the host) calls

    controller.receive(bytes_from_host, now_ms)   # answers commands at once
    controller.tick(now_ms)                       # every config.TICK_MS
    port.write(controller.take_output())

Safety is decided here, independently of the host (firmware/PROTOCOL.md, "Safety rules"): safe state at
power-on, fire input opens every door and refuses closing, host silence beyond LINK_TIMEOUT_MS applies the
safe state, anti-pinch in door.py. `healthy` tells main.py whether to feed the hardware watchdog.
"""

try:
    from firmware import door as door_module
    from firmware import hal
    from firmware import protocol as P
    from firmware.door import Door
    from firmware.sensors import PassageSensors
except ImportError:  # on the board
    import door as door_module
    import hal
    import protocol as P
    from door import Door
    from sensors import PassageSensors


class DoorIO:
    """The HAL objects of one door."""

    def __init__(self, machine, spec, cfg):
        self.motor = hal.Motor(machine, spec["dir"], spec["pwm"], cfg.MOTOR_PWM_FREQ, cfg.MOTOR_DUTY)
        self.open_stop = hal.DigitalIn(machine, spec["open_stop"])
        self.closed_stop = hal.DigitalIn(machine, spec["closed_stop"])
        self.safety_beam = hal.DigitalIn(machine, spec["safety_beam"])
        self.lock = hal.DigitalOut(machine, spec["lock"])
        self.current = hal.CurrentSense(machine, spec["current_adc"])
        self.encoder = hal.Encoder(machine, spec["encoder"]) if spec.get("encoder") else None


def _mask(raw, positions):
    """Gather the chain bits at `positions` into a compact mask (bit i = positions[i])."""
    mask = 0
    for i, position in enumerate(positions):
        if raw & (1 << position):
            mask |= 1 << i
    return mask


class Controller:
    def __init__(self, machine, cfg, now, boot_count=0, reset_cause=P.RESET_UNKNOWN):
        self.cfg = cfg
        self.doors = [Door(i, DoorIO(machine, spec, cfg), cfg) for i, spec in enumerate(cfg.DOORS)]
        self.fire_input = hal.DigitalIn(machine, cfg.FIRE_INPUT)
        chain = cfg.BEAM_CHAIN
        self.beams = hal.ShiftIn(machine, chain["load"], chain["clock"], chain["data"], chain["bits"])
        self.sensors = PassageSensors(cfg)
        self.boot_count = boot_count
        self.reset_cause = reset_cause

        self.decoder = P.Decoder()
        self.window = P.SeqWindow(cfg.SEQ_WINDOW, in_order=True)  # never act on a command older than one acted on
        self.session = None  # the host's session number, once it has said HELLO
        self.link_ok = False
        self.last_rx = now
        self.safe_state = cfg.SAFE_STATE  # applied on link loss; the host may change it
        self.in_safe_state = False
        self._safe_target = cfg.SAFE_STATE
        self._safe_retry_at = now
        self.fire = False
        self.emergency = False
        self.events_lost = False
        self.healthy = False
        self.now = now

        self._seq = 0
        self._out = bytearray()
        self._events = []  # [seq, Event, last_sent_ms or None]
        self._last_status = None
        self._status_sent = now
        self._status_due = True
        self._hello_sent = now

        self._send(self._hello())
        self.fire = self.fire_input.active()
        if self.fire:
            self._queue_event(P.EV_FIRE_ON, P.DOOR_ALL, 0)
        self.apply_safe_state(now, cfg.SAFE_STATE)  # safety first: before any host frame

    # --- I/O facing -----------------------------------------------------------------------------------

    def take_output(self):
        """The bytes to write to the host since the last call."""
        out = bytes(self._out)
        self._out = bytearray()
        return out

    def receive(self, data, now):
        """Bytes from the host: every valid frame feeds the link watchdog; commands are answered at once."""
        self.now = now
        for item in self.decoder.feed(data):
            if isinstance(item, P.ProtocolError):
                continue  # counted by the decoder; a bad frame changes nothing
            self.last_rx = now
            self.link_ok = True
            self._handle(item, now)

    def tick(self, now):
        self.healthy = False
        self.now = now
        self._safety(now)
        self._link_watchdog(now)
        self._hold_safe_state(now)

        raw = self.beams.read()
        if self.cfg.BEAMS_ACTIVE_LOW:
            raw = ~raw & ((1 << self.beams.bits) - 1)
        cfg = self.cfg
        masks = (
            _mask(raw, cfg.ENTRY_BEAMS),
            _mask(raw, cfg.BODY_BEAMS),
            _mask(raw, cfg.FLOOR_BEAMS),
            _mask(raw, cfg.EXIT_BEAMS),
        )
        for code, door, detail in self.sensors.update(now, *masks):
            self._queue_event(code, door, detail)
        for door in self.doors:
            door.tick(now)
            for code, index, detail in door.events:
                self._queue_event(code, index, detail)
            door.events = []

        self._send_status_if_due(now)
        self._send_hello_if_due(now)
        self._resend_events(now)
        self.healthy = True

    # --- safety ---------------------------------------------------------------------------------------

    def open_all_mode(self):
        return self.fire or self.emergency

    def _safety(self, now):
        fire = self.fire_input.active()
        if fire != self.fire:
            self.fire = fire
            self._queue_event(P.EV_FIRE_ON if fire else P.EV_FIRE_OFF, P.DOOR_ALL, 0)
            if fire:
                for door in self.doors:
                    door.open(now)  # tried even on a faulted door
        if self.open_all_mode():
            for door in self.doors:
                if not door.is_open_or_opening() and not door.fault:
                    door.open(now)

    def _link_watchdog(self, now):
        if self.link_ok and hal.ticks_diff(now, self.last_rx) > self.cfg.LINK_TIMEOUT_MS:
            self.link_ok = False
            self.apply_safe_state(now, self.safe_state)
            self._queue_event(P.EV_LINK_TIMEOUT, P.DOOR_ALL, self.safe_state)

    def _hold_safe_state(self, now):
        """Without a host, keep working towards the safe state: a door that an obstruction reversed, or that
        a fire opened, is tried again every SAFE_RETRY_MS once its safety beam is clear. (With a host
        connected, the host decides.)"""
        if self.link_ok or not self.in_safe_state or self.open_all_mode():
            return
        if hal.ticks_diff(now, self._safe_retry_at) < 0:
            return
        self._safe_retry_at = hal.ticks_add(now, self.cfg.SAFE_RETRY_MS)
        ops = P.SAFE_STATE_OPS[self._safe_target]
        for i, door in enumerate(self.doors):
            op = ops[i]
            if door.motion != door_module.IDLE or door.fault or door.obstructed:
                continue
            position = door.position()
            if op == P.OP_OPEN:
                if position != P.POS_OPEN:
                    door.open(now)
            elif position != P.POS_CLOSED or (op == P.OP_LOCK and not door.io.lock.on):
                door.close(now, lock=op == P.OP_LOCK)

    def apply_safe_state(self, now, state):
        self._safe_target = state
        self._safe_retry_at = hal.ticks_add(now, self.cfg.SAFE_RETRY_MS)
        ops = P.SAFE_STATE_OPS[P.SAFE_OPEN if self.open_all_mode() else state]
        for i, door in enumerate(self.doors):  # (no zip(strict=) in MicroPython)
            op = ops[i]
            if op == P.OP_OPEN:
                door.open(now)
            else:
                door.close(now, lock=op == P.OP_LOCK)
        self.in_safe_state = True

    # --- frames from the host -------------------------------------------------------------------------

    def _handle(self, message, now):
        kind = message.TYPE
        if kind == P.T_HELLO:
            if message.role == P.ROLE_HOST:
                if message.boot_count != self.session:
                    self.session = message.boot_count
                    self.window.reset()
                self._send(self._hello())
                self._status_due = True
        elif kind == P.T_COMMAND:
            self._command(message, now)
        elif kind == P.T_ACK:
            for i, pending in enumerate(self._events):
                if pending[0] == message.acked_seq:
                    del self._events[i]
                    break
        # HEARTBEAT: feeding the link watchdog (done in receive) is all it is for

    def _command(self, command, now):
        seq = command.seq
        if self.session is None:
            self._answer(seq, P.NACK_NO_SESSION)
            return
        verdict, remembered = self.window.check(seq)
        if verdict == P.DUPLICATE:
            self._answer(seq, remembered)  # a retry: same answer, no second action
            return
        if verdict == P.STALE:
            self._answer(seq, P.NACK_STALE_SEQ)
            return
        reason = self._execute(command, now)
        self.window.record(seq, reason)
        self._answer(seq, reason)

    def _answer(self, seq, reason):
        self._send(P.Nack(seq, reason) if reason else P.Ack(seq))

    def _execute(self, command, now):
        """Act on a NEW command; return 0 (ACK) or a NACK reason, in which case nothing was done."""
        op = command.op
        if op not in P.OP_NAMES:
            return P.NACK_UNKNOWN_OP
        if op in P.DOOR_OPS:
            if command.door == P.DOOR_ALL:
                doors = self.doors
            elif 0 <= command.door < len(self.doors):
                doors = [self.doors[command.door]]
            else:
                return P.NACK_BAD_DOOR
            if op in (P.OP_CLOSE, P.OP_LOCK):
                if self.open_all_mode():
                    return P.NACK_FIRE_ACTIVE
                for door in doors:
                    if door.fault:
                        return P.NACK_DOOR_FAULT
            for door in doors:
                if op == P.OP_OPEN:
                    door.open(now)
                elif op == P.OP_CLOSE:
                    door.close(now)
                elif op == P.OP_LOCK:
                    door.close(now, lock=True)
                elif op == P.OP_UNLOCK:
                    door.unlock()
                else:
                    door.clear_fault()
            if op != P.OP_CLEAR_FAULT:
                self.in_safe_state = False
        elif op == P.OP_SAFE_STATE:
            if self.open_all_mode() and self.safe_state != P.SAFE_OPEN:
                return P.NACK_FIRE_ACTIVE
            self.apply_safe_state(now, self.safe_state)
        elif op == P.OP_SET_SAFE_STATE:
            if command.arg not in P.SAFE_NAMES:
                return P.NACK_BAD_ARG
            self.safe_state = command.arg
        elif op == P.OP_EMERGENCY:
            if command.arg not in (0, 1):
                return P.NACK_BAD_ARG
            self.emergency = bool(command.arg)
            if self.emergency:
                for door in self.doors:
                    door.open(now)
        elif op == P.OP_RESET_SENSORS:
            self.sensors.reset()
        self._status_due = True
        return 0

    # --- frames to the host ---------------------------------------------------------------------------

    def _send(self, message):
        message.seq = self._seq
        self._seq = P.next_seq(self._seq)
        self._out.extend(P.encode(message))

    def _queue_event(self, code, door, detail):
        event = P.Event(code, door, detail, self.now & 0xFFFFFFFF)
        event.seq = self._seq
        self._seq = P.next_seq(self._seq)
        if len(self._events) >= self.cfg.EVENT_QUEUE:
            del self._events[0]
            self.events_lost = True
        self._events.append([event.seq, event, None])
        self._status_due = True

    def _resend_events(self, now):
        if self.session is None:
            return  # nobody to tell yet: keep them until the host says HELLO
        for pending in self._events:
            last = pending[2]
            if last is None or hal.ticks_diff(now, last) >= self.cfg.EVENT_RETRY_MS:
                self._out.extend(P.encode(pending[1]))
                pending[2] = now

    def status(self):
        flags = 0
        if self.fire:
            flags |= P.SF_FIRE
        if self.emergency:
            flags |= P.SF_EMERGENCY
        if self.session is not None:
            flags |= P.SF_SESSION
        if self.link_ok:
            flags |= P.SF_LINK_OK
        if self.in_safe_state:
            flags |= P.SF_SAFE_STATE
        if self.events_lost:
            flags |= P.SF_EVENTS_LOST
        entry, body, floor, exit_ = self.sensors.masks
        return P.Status(flags, self.safe_state, [door.status() for door in self.doors], entry, body, floor,
                        exit_, self.sensors.persons, self.now & 0xFFFFFFFF)  # fmt: skip

    def _send_status_if_due(self, now):
        status = self.status()
        snapshot = status.values()[:-1]  # everything but the uptime
        periodic = hal.ticks_diff(now, self._status_sent) >= self.cfg.STATUS_PERIOD_MS
        if self._status_due or periodic or snapshot != self._last_status:
            self._send(status)
            self._last_status = snapshot
            self._status_sent = now
            self._status_due = False

    def _send_hello_if_due(self, now):
        if self.session is None and hal.ticks_diff(now, self._hello_sent) >= self.cfg.HELLO_PERIOD_MS:
            self._send(self._hello())
            self._hello_sent = now

    def _hello(self):
        major, minor, patch = self.cfg.FIRMWARE_VERSION
        return P.Hello(P.ROLE_MCU, P.VERSION, major, minor, patch, self.boot_count, self.reset_cause)
