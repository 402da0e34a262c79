"""The real firmware (firmware/controller.py) on the host: a simulated board, its world, a simulated clock.

No I/O and no real time: `advance(ms)` runs the control ticks and the physics in lock step, so tests are
exact and fast. The pty rig (rig.py) drives the same object from a real-time loop.

    sim = DoorSim()
    sim.receive(protocol.encode(protocol.Hello(protocol.ROLE_HOST, boot_count=1)))
    sim.advance(100)
    frames = sim.frames()           # decoded frames the firmware sent
    sim.walk("a", to=1.0)           # a traveller walks into the compartment (doors permitting)
"""

from __future__ import annotations

import types
from typing import Any

from firmware import config as firmware_config
from firmware import hal
from firmware import protocol as P
from firmware.controller import Controller
from simulators.doors.physics import Traveller, World
from simulators.doors.shim import FakeMachine, ShiftRegister165


def make_config(**overrides: Any) -> types.SimpleNamespace:
    """A copy of firmware/config.py with some names replaced (e.g. LINK_TIMEOUT_MS=300)."""
    values = {name: getattr(firmware_config, name) for name in dir(firmware_config) if name.isupper()}
    unknown = set(overrides) - set(values)
    if unknown:
        raise ValueError(f"not firmware configuration names: {sorted(unknown)}")
    values.update(overrides)
    return types.SimpleNamespace(**values)


class DoorSim:
    """Firmware + board + world. Times are integer milliseconds of the simulated clock (`now`)."""

    def __init__(self, cfg: types.SimpleNamespace | None = None, *, start_ms: int = 0, **overrides: Any) -> None:
        self.cfg = cfg or make_config(**overrides)
        self.world = World(self.cfg)
        self.now = start_ms
        self.boot_count = 0  # "flash": survives resets and power loss
        self.powered_until: int | None = None  # while unpowered: when power comes back
        self.hung = False
        self.machine: FakeMachine | None = None
        self.controller: Controller | None = None
        self._output = bytearray()
        self._decoder = P.Decoder()
        self._next_tick = start_ms
        self.boot(FakeMachine.PWRON_RESET)

    # --- the board ----------------------------------------------------------------------------------------

    def boot(self, cause: int) -> None:
        """Start the firmware afresh on a new board state (outputs low), as after any reset."""
        machine = FakeMachine(cause)
        machine.now_ms = self.now
        chain = self.cfg.BEAM_CHAIN
        machine.shift_registers.append(
            ShiftRegister165(machine, chain["load"], chain["clock"], chain["data"], chain["bits"])
        )
        self.world.write_inputs(machine)
        self.boot_count += 1
        self.machine = machine
        self.hung = False
        self.controller = Controller(machine, self.cfg, self.now, self.boot_count, hal.reset_cause(machine))
        self.watchdog = hal.Watchdog(machine, self.cfg.WDT_TIMEOUT_MS)  # as main.py: right after the controller
        self._next_tick = self.now
        self._collect()

    def reset(self) -> None:
        """MCU reset (the reset button, or mpremote's soft reset)."""
        self.boot(FakeMachine.SOFT_RESET)

    def power_loss(self, duration_ms: int) -> None:
        """The board loses power now for `duration_ms`: motors stop, nothing is sent or received."""
        self.machine = None
        self.controller = None
        self.powered_until = self.now + duration_ms

    def hang(self) -> None:
        """The firmware's loop stops (a bug): outputs freeze, the watchdog must reset the board."""
        self.hung = True

    @property
    def powered(self) -> bool:
        return self.controller is not None

    # --- link ---------------------------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Bytes from the host, at the current simulated time."""
        if self.controller is None or self.hung:
            return
        self.controller.receive(data, self.now)
        self._collect()

    def take_output(self) -> bytes:
        out = bytes(self._output)
        self._output = bytearray()
        return out

    def frames(self) -> list[Any]:
        """Decode and return what the firmware sent since the last call (messages and protocol errors)."""
        return self._decoder.feed(self.take_output())

    def _collect(self) -> None:
        if self.controller is not None:
            self._output.extend(self.controller.take_output())

    # --- time ---------------------------------------------------------------------------------------------

    def advance(self, ms: int) -> None:
        self.advance_to(self.now + ms)

    def advance_to(self, until: int) -> None:
        tick = self.cfg.TICK_MS
        while self._next_tick <= until:
            self.now = self._next_tick
            self._next_tick += tick
            self._step(tick)
        self.now = max(self.now, until)

    def _step(self, dt: int) -> None:
        if self.powered_until is not None and self.now >= self.powered_until:
            self.powered_until = None
            self.boot(FakeMachine.PWRON_RESET)
        machine = self.machine
        if machine is not None:
            machine.now_ms = self.now
        self.world.step(dt, machine)
        if self.controller is None or machine is None:
            return
        if self.hung:
            if machine.watchdog_expired(self.now):
                self.boot(FakeMachine.WDT_RESET)
            return
        self.controller.tick(self.now)
        if self.controller.healthy:
            self.watchdog.feed()
        self._collect()

    # --- the world (what tests and the simulated gate move) ------------------------------------------------

    def place(self, name: str, x: float) -> None:
        self.world.travellers[name] = _traveller(x)

    def walk(self, name: str, to: float, speed: float = 1.0) -> None:
        """Send traveller `name` towards x = `to` (created at x = -1, in the public queue, if new)."""
        traveller = self.world.travellers.get(name) or _traveller(-1.0)
        traveller.target = to
        traveller.speed = speed
        self.world.travellers[name] = traveller

    def remove(self, name: str) -> None:
        self.world.travellers.pop(name, None)

    def drop_object(self, name: str, x: float) -> None:
        self.world.objects[name] = x

    def pick_up(self, name: str) -> None:
        self.world.objects.pop(name, None)

    def obstruct(self, door: int, on: bool = True) -> None:
        """An obstacle in the door that only the motor current notices."""
        self.world.doors[door].hidden_obstacle = on

    def set_fire(self, on: bool) -> None:
        self.world.fire = on

    def door_position(self, door: int) -> float:
        return self.world.doors[door].position

    def snapshot(self) -> dict[str, Any]:
        return {
            "now_ms": self.now,
            "powered": self.powered,
            "boot_count": self.boot_count,
            "fire": self.world.fire,
            "doors": [
                {"position": round(d.position, 3), "hidden_obstacle": d.hidden_obstacle} for d in self.world.doors
            ],
            "travellers": {k: round(t.x, 3) for k, t in self.world.travellers.items()},
            "objects": dict(self.world.objects),
            "link_ok": bool(self.controller and self.controller.link_ok),
        }


def _traveller(x: float) -> Traveller:
    return Traveller(x=x, target=x)
