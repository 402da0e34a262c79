"""The world around the door controller: two door leaves driven by the firmware's motor pins, and the
travellers and objects whose positions break the beams.

Geometry along the passage (metres): the entry door at x = 0, the exit door at x = 2. Beam pairs at each
door 10 cm either side of it, compartment beams (body height and floor) every 20 cm from 0.3 to 1.7, a
safety beam in each door plane. A traveller is 30 cm deep and breaks every body beam within 15 cm of
their centre (legs: floor beams within 10 cm); an object breaks floor beams within 10 cm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulators.doors.shim import FakeMachine

DOOR_X = (0.0, 2.0)
ENTRY_BEAM_X = (-0.1, 0.1)  # outer, inner
EXIT_BEAM_X = (1.9, 2.1)  # inner, outer
COMPARTMENT_BEAM_X = tuple(round(0.3 + 0.2 * i, 2) for i in range(8))
HALF_DEPTH = 0.15  # a traveller's half depth (body)
LEG_REACH = 0.10
OBJECT_REACH = 0.10
PASSABLE = 0.9  # a door this open lets a traveller through
LEAF_CONTACT = 0.45  # a closing leaf meets a body in the door plane at this opening
RUNNING_CURRENT = 15000
STALL_CURRENT = 60000


@dataclass
class Traveller:
    x: float
    target: float
    speed: float = 1.0  # m/s


@dataclass
class DoorModel:
    index: int
    spec: dict
    travel_ms: float = 1500.0
    position: float = 0.0  # 0 closed .. 1 open
    hidden_obstacle: bool = False  # something the safety beam does not see (a thin bag strap, a hand low down)
    stalled: bool = False
    encoder_count: int = 0


@dataclass
class World:
    """Door leaves, travellers, objects and the fire-alarm input."""

    cfg: object
    doors: list[DoorModel] = field(default_factory=list)
    travellers: dict[str, Traveller] = field(default_factory=dict)
    objects: dict[str, float] = field(default_factory=dict)
    fire: bool = False

    def __post_init__(self) -> None:
        if not self.doors:
            self.doors = [DoorModel(i, spec) for i, spec in enumerate(self.cfg.DOORS)]

    # --- what is where ------------------------------------------------------------------------------------

    def in_door_plane(self, door: int) -> bool:
        x = DOOR_X[door]
        return any(abs(t.x - x) < HALF_DEPTH for t in self.travellers.values())

    def beam_broken(self, x: float, floor: bool = False) -> bool:
        reach = LEG_REACH if floor else HALF_DEPTH
        if any(abs(t.x - x) <= reach for t in self.travellers.values()):
            return True
        return floor and any(abs(o - x) <= OBJECT_REACH for o in self.objects.values())

    def beams(self) -> dict[str, list[bool]]:
        return {
            "entry": [self.beam_broken(x) for x in ENTRY_BEAM_X],
            "body": [self.beam_broken(x) for x in COMPARTMENT_BEAM_X],
            "floor": [self.beam_broken(x, floor=True) for x in COMPARTMENT_BEAM_X],
            "exit": [self.beam_broken(x) for x in EXIT_BEAM_X],
        }

    # --- time ---------------------------------------------------------------------------------------------

    def step(self, dt_ms: float, machine: FakeMachine | None) -> None:
        """Advance the world by dt_ms; `machine` is None while the board has no power (motors off)."""
        for door in self.doors:
            self._move_door(door, dt_ms, machine)
        for traveller in self.travellers.values():
            self._move_traveller(traveller, dt_ms)
        if machine is not None:
            self.write_inputs(machine)

    def _move_door(self, door: DoorModel, dt_ms: float, machine: FakeMachine | None) -> None:
        spec = door.spec
        duty = machine.duty(spec["pwm"]) if machine else 0
        door.stalled = False
        if duty <= 0:
            return
        opening = machine.output(spec["dir"]) == 1
        locked = machine.output(spec["lock"]) == 1
        step = dt_ms / door.travel_ms * min(1.0, duty / self.cfg.MOTOR_DUTY)
        before = door.position
        if opening:
            if locked:
                door.stalled = True  # the bolt holds the leaf
            else:
                door.position = min(1.0, door.position + step)
        else:
            contact = LEAF_CONTACT if door.hidden_obstacle or self.in_door_plane(door.index) else 0.0
            if contact and door.position <= contact:
                door.stalled = True  # the leaf presses against whatever is in the doorway
            else:
                door.position = max(contact, door.position - step)
        if door.spec.get("encoder"):
            self._encoder_pulses(door, machine, before)

    def _encoder_pulses(self, door: DoorModel, machine: FakeMachine, before: float) -> None:
        pin_a, pin_b = door.spec["encoder"]
        target = round(door.position * self.cfg.ENCODER_COUNTS)
        while door.encoder_count != target:
            up = target > door.encoder_count
            machine.set_input(pin_b, 1 if up else 0)
            machine.set_input(pin_a, 1)
            machine.set_input(pin_a, 0)
            door.encoder_count += 1 if up else -1

    def _move_traveller(self, traveller: Traveller, dt_ms: float) -> None:
        distance = traveller.target - traveller.x
        if abs(distance) < 1e-9:
            return
        step = min(abs(distance), traveller.speed * dt_ms / 1000.0)
        new_x = traveller.x + (step if distance > 0 else -step)
        limit = HALF_DEPTH + 0.05
        for door in self.doors:  # a door that is not open stops a traveller short of its plane
            if door.position >= PASSABLE:
                continue
            x = DOOR_X[door.index]
            if traveller.x <= x - limit < new_x:
                new_x = x - limit
            elif traveller.x >= x + limit > new_x:
                new_x = x + limit
        traveller.x = new_x

    def write_inputs(self, machine: FakeMachine) -> None:
        cfg = self.cfg
        for door in self.doors:
            spec = door.spec
            current = 0
            if machine.duty(spec["pwm"]) > 0:
                current = STALL_CURRENT if door.stalled else RUNNING_CURRENT
            machine.adc[spec["current_adc"]] = current
            self._set(machine, spec["open_stop"], door.position >= 1.0)
            self._set(machine, spec["closed_stop"], door.position <= 0.0)
            self._set(machine, spec["safety_beam"], self.in_door_plane(door.index))
        self._set(machine, cfg.FIRE_INPUT, self.fire)
        beams = self.beams()
        levels = [1] * cfg.BEAM_CHAIN["bits"]
        groups = (
            (cfg.ENTRY_BEAMS, beams["entry"]),
            (cfg.BODY_BEAMS, beams["body"]),
            (cfg.FLOOR_BEAMS, beams["floor"]),
            (cfg.EXIT_BEAMS, beams["exit"]),
        )
        for positions, broken in groups:
            for position, is_broken in zip(positions, broken, strict=False):
                active = is_broken
                levels[position] = (0 if active else 1) if cfg.BEAMS_ACTIVE_LOW else (1 if active else 0)
        for register in machine.shift_registers:
            register.inputs = levels

    @staticmethod
    def _set(machine: FakeMachine, spec: tuple[int, bool], active: bool) -> None:
        gpio, active_low = spec
        machine.set_input(gpio, (0 if active else 1) if active_low else (1 if active else 0))
