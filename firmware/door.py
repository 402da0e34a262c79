"""One door leaf pair: motor, end stops, safety beam, motor current, lock, optional encoder.

A small state machine driven by `tick(now_ms)`; commands (`open`, `close`, `unlock`) only set the goal
and start the motor, `tick` watches the sensors. Anti-pinch: a closing door whose safety beam breaks or
whose motor current exceeds the limit is reversed in the same tick and opens fully.
"""

try:
    from firmware import protocol as P
    from firmware.hal import ticks_diff
except ImportError:  # on the board
    import protocol as P
    from hal import ticks_diff

IDLE = 0
OPENING = 1
CLOSING = 2
RELEASING = 3  # waiting for the lock bolt before opening


class Door:
    """`io` holds the HAL objects: motor, open_stop, closed_stop, safety_beam, current, lock, encoder (or None)."""

    def __init__(self, index, io, cfg):
        self.index = index
        self.io = io
        self.cfg = cfg
        self.motion = IDLE
        self.started_ms = 0
        self.lock_when_closed = False
        self.fault = P.FAULT_NONE
        self.obstructed = False  # safety beam broken or over-current, as of the last tick
        self._rest = P.POS_UNKNOWN  # position when last at rest: detects a door pushed off its end stop
        self.events = []  # (code, door, detail) produced since the caller last took them

    # --- commands ---------------------------------------------------------------------------------------

    def open(self, now):
        """Release the lock and drive open. Always tried, even after a fault (a fault is cleared first)."""
        self.fault = P.FAULT_NONE
        self.lock_when_closed = False
        if self.motion in (OPENING, RELEASING):
            return
        if self.io.open_stop.active() and not self.io.closed_stop.active():
            self._stop()
            self.io.lock.set(False)
            return
        if self.io.lock.on:
            self.io.lock.set(False)
            self.motion = RELEASING
            self.started_ms = now
            self.io.motor.drive(0)
        else:
            self._start(OPENING, now)

    def close(self, now, lock=False):
        """Drive closed (and lock on arrival when `lock`). Return a NACK reason or 0."""
        if self.fault:
            return P.NACK_DOOR_FAULT
        self.lock_when_closed = lock
        if self.io.closed_stop.active() and not self.io.open_stop.active():
            self._stop()
            self.io.lock.set(lock)
            return 0
        if self.motion != CLOSING:
            self.io.lock.set(False)
            self._start(CLOSING, now)
        return 0

    def unlock(self):
        self.lock_when_closed = False
        self.io.lock.set(False)

    def clear_fault(self):
        self.fault = P.FAULT_NONE

    # --- the control tick -----------------------------------------------------------------------------

    def tick(self, now):
        io = self.io
        opened = io.open_stop.active()
        closed = io.closed_stop.active()
        beam = io.safety_beam.active()
        moving_for = ticks_diff(now, self.started_ms)
        over_current = (
            self.motion in (OPENING, CLOSING)
            and moving_for >= self.cfg.CURRENT_BLANKING_MS
            and io.current.read() > self.cfg.CURRENT_LIMIT
        )
        self.obstructed = beam or over_current
        if io.encoder is not None:
            if closed:
                io.encoder.count = 0
            elif opened:
                io.encoder.count = self.cfg.ENCODER_COUNTS

        if opened and closed:
            self._fail(P.FAULT_END_STOPS)
        elif self.motion == CLOSING:
            if beam or over_current:
                # anti-pinch: reverse now, in this very tick
                self._start(OPENING, now)
                self.lock_when_closed = False
                detail = P.OBSTRUCTION_BEAM if beam else P.OBSTRUCTION_CURRENT
                self.events.append((P.EV_OBSTRUCTION, self.index, detail))
            elif closed:
                self._stop()
                self._rest = P.POS_CLOSED
                if self.lock_when_closed:
                    io.lock.set(True)
            elif moving_for > self.cfg.MOTION_TIMEOUT_MS:
                self._fail(P.FAULT_TIMEOUT)
        elif self.motion == OPENING:
            if opened:
                self._stop()
                self._rest = P.POS_OPEN
            elif over_current:
                self._fail(P.FAULT_JAMMED)
            elif moving_for > self.cfg.MOTION_TIMEOUT_MS:
                self._fail(P.FAULT_TIMEOUT)
        elif self.motion == RELEASING:
            if moving_for >= self.cfg.LOCK_RELEASE_MS:
                self._start(OPENING, now)
        else:
            rest = P.POS_OPEN if opened else (P.POS_CLOSED if closed else P.POS_UNKNOWN)
            if rest == P.POS_UNKNOWN and self._rest != P.POS_UNKNOWN and not self.fault:
                self._fail(P.FAULT_POSITION_LOST)  # pushed off its end stop by hand or force
            self._rest = rest

    # --- what STATUS reports ---------------------------------------------------------------------------

    def position(self):
        if self.motion in (OPENING, RELEASING):
            return P.POS_OPENING
        if self.motion == CLOSING:
            return P.POS_CLOSING
        opened = self.io.open_stop.active()
        closed = self.io.closed_stop.active()
        if opened and not closed:
            return P.POS_OPEN
        if closed and not opened:
            return P.POS_CLOSED
        if self.fault:
            return P.POS_STOPPED
        return P.POS_UNKNOWN

    def flags(self):
        flags = 0
        if self.io.lock.on:
            flags |= P.DF_LOCKED
        if self.obstructed:
            flags |= P.DF_OBSTRUCTED
        if self.fault:
            flags |= P.DF_FAULT
        if self.io.motor.direction:
            flags |= P.DF_MOVING
        return flags

    def percent(self):
        if self.io.encoder is not None:
            count = self.io.encoder.count * 100 // self.cfg.ENCODER_COUNTS
            return min(100, max(0, count))
        position = self.position()
        if position == P.POS_CLOSED:
            return 0
        if position == P.POS_OPEN:
            return 100
        return 255

    def status(self):
        return P.DoorStatus(self.position(), self.flags(), self.fault, self.percent())

    def is_open_or_opening(self):
        return self.motion in (OPENING, RELEASING) or (self.motion == IDLE and self.position() == P.POS_OPEN)

    # --- internals ------------------------------------------------------------------------------------

    def _start(self, motion, now):
        self.motion = motion
        self.started_ms = now
        self.io.motor.drive(1 if motion == OPENING else -1)

    def _stop(self):
        self.motion = IDLE
        self.io.motor.drive(0)

    def _fail(self, fault):
        self._stop()
        self._rest = P.POS_UNKNOWN
        if self.fault != fault:
            self.fault = fault
            self.events.append((P.EV_DOOR_FAULT, self.index, fault))
