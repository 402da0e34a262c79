"""The gate transaction core: pure, no I/O, time passed in."""

from edge.gate.actions import State
from edge.gate.machine import Gate, Timeouts

__all__ = ["Gate", "State", "Timeouts"]
