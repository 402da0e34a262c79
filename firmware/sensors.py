"""Passage sensing from the infrared beams: crossings and their direction, occupancy, more than one person,
object left behind.

Geometry (see config.py): a beam pair at each door (outer and inner, 20 cm apart), a row of body-height beams
along the compartment and a row of floor beams under it, 20 cm apart. A person breaks one or two adjacent
body beams and both beams of a door pair while crossing it; luggage on the floor breaks only floor beams.
"""

try:
    from firmware import protocol as P
    from firmware.hal import ticks_diff
except ImportError:  # on the board
    import protocol as P
    from hal import ticks_diff

INWARD = 1
OUTWARD = -1


class BeamPair:
    """Direction of one crossing of a pair of beams: which beam broke first and which cleared last.

    first=outer, last=inner -> INWARD; first=inner, last=outer -> OUTWARD; anything else (a step in and
    back) -> no crossing."""

    def __init__(self):
        self._first = None
        self._was = 0

    def update(self, outer, inner):
        now = (1 if outer else 0) | (2 if inner else 0)
        was = self._was
        self._was = now
        if was == 0 and now:
            self._first = now  # 1 outer, 2 inner, 3 both at once (unknown)
            return 0
        if now == 0 and was:
            first = self._first
            self._first = None
            if first == 1 and was == 2:
                return INWARD
            if first == 2 and was == 1:
                return OUTWARD
        return 0


def _runs(bits, count):
    """Lengths of the runs of consecutive broken beams among `count` bits."""
    runs = []
    length = 0
    for i in range(count):
        if bits & (1 << i):
            length += 1
        elif length:
            runs.append(length)
            length = 0
    if length:
        runs.append(length)
    return runs


def people_in_pattern(bits, count, max_person_beams):
    """How many people a body-beam pattern shows at least: separate runs, and runs too long for one."""
    people = 0
    for length in _runs(bits, count):
        people += (length + max_person_beams - 1) // max_person_beams
    return people


class PassageSensors:
    """Feed it the broken-beam masks every tick; it keeps `persons` and returns events (code, door, detail)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.entry = BeamPair()
        self.exit = BeamPair()
        self.persons = 0
        self.occupied = False
        self.multi_reported = False
        self.object_reported = False
        self._raw_occupied = False
        self._occupied_since = 0
        self._multi_since = None
        self._object_since = None
        self._object_clear_since = None
        self.masks = (0, 0, 0, 0)

    def reset(self):
        self.persons = 0
        self.multi_reported = False
        self.object_reported = False
        self._multi_since = None
        self._object_since = None

    def update(self, now, entry_bits, body_bits, floor_bits, exit_bits):
        cfg = self.cfg
        self.masks = (entry_bits, body_bits, floor_bits, exit_bits)
        events = []

        crossing = self.entry.update(entry_bits & 1, entry_bits & 2)
        if crossing == INWARD:
            self.persons += 1
            events.append((P.EV_ENTRY_PASSAGE, P.DOOR_ENTRY, self.persons))
        elif crossing == OUTWARD:
            self.persons = max(0, self.persons - 1)
            events.append((P.EV_ENTRY_RETREAT, P.DOOR_ENTRY, self.persons))
        crossing = self.exit.update(exit_bits & 2, exit_bits & 1)  # outer is bit 1 at the exit
        if crossing == OUTWARD:
            self.persons = max(0, self.persons - 1)
            events.append((P.EV_EXIT_PASSAGE, P.DOOR_EXIT, self.persons))
        elif crossing == INWARD:
            self.persons += 1
            events.append((P.EV_EXIT_INTRUSION, P.DOOR_EXIT, self.persons))
        self.persons = min(self.persons, 255)

        # occupancy: body beams, or someone in a doorway on the compartment side
        raw = bool(body_bits) or bool(entry_bits & 2) or bool(exit_bits & 1)
        if raw != self._raw_occupied:
            self._raw_occupied = raw
            self._occupied_since = now
        held = ticks_diff(now, self._occupied_since)
        if raw and not self.occupied and held >= cfg.OCCUPIED_MS:
            self.occupied = True
            events.append((P.EV_COMPARTMENT_OCCUPIED, P.DOOR_ALL, 0))
        elif not raw and self.occupied and held >= cfg.EMPTY_MS:
            self.occupied = False
            self.persons = 0
            self.multi_reported = False
            self._multi_since = None
            events.append((P.EV_COMPARTMENT_EMPTY, P.DOOR_ALL, 0))

        # more than one person: the beam pattern, or the crossing count
        seen = people_in_pattern(body_bits, len(cfg.BODY_BEAMS), cfg.MAX_PERSON_BEAMS)
        estimate = max(seen, self.persons)
        if estimate >= 2:
            if self._multi_since is None:
                self._multi_since = now
            # a count from crossings is firm at once; a pattern must last (swinging arms, a bag held out)
            firm = self.persons >= 2 or ticks_diff(now, self._multi_since) >= cfg.MULTI_PERSON_MS
            if firm and not self.multi_reported:
                self.multi_reported = True
                events.append((P.EV_MORE_THAN_ONE, P.DOOR_ALL, min(estimate, 255)))
        else:
            self._multi_since = None

        # object left behind: floor beams broken under clear body beams
        lying = bool(floor_bits) and not raw
        if lying:
            self._object_clear_since = None
            if self._object_since is None:
                self._object_since = now
            if not self.object_reported and ticks_diff(now, self._object_since) >= cfg.OBJECT_LEFT_MS:
                self.object_reported = True
                events.append((P.EV_OBJECT_LEFT, P.DOOR_ALL, 0))
        else:
            self._object_since = None
            if self.object_reported and not floor_bits:
                if self._object_clear_since is None:
                    self._object_clear_since = now
                if ticks_diff(now, self._object_clear_since) >= cfg.OBJECT_REMOVED_MS:
                    self.object_reported = False
                    self._object_clear_since = None
                    events.append((P.EV_OBJECT_REMOVED, P.DOOR_ALL, 0))
        return events
