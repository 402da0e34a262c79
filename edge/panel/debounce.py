"""Debouncing of one digital input, with time passed in (no I/O, no clock).

A contact counts as changed only when its new level has held for `stable_s`. Unlike a "dead time after
each edge" filter (gpiozero's bounce_time), this never misses the final level of a bouncing contact:
whatever the pin settles on is what gets reported.

    d = Debouncer(stable_s=0.05, level=False)
    d.sample(True, now=10.00)   # -> None (not stable yet); d.due() == 10.05
    d.sample(True, now=10.05)   # -> True (the debounced level changed)
"""

from __future__ import annotations


class Debouncer:
    def __init__(self, stable_s: float, level: bool) -> None:
        self.stable_s = stable_s
        self.level = level  # the debounced (reported) level
        self._raw = level
        self._raw_since = float("-inf")

    def sample(self, raw: bool, now: float) -> bool | None:
        """Feed a reading of the pin; return the new debounced level when it changes, else None."""
        if raw != self._raw:
            self._raw = raw
            self._raw_since = now
        if self._raw != self.level and now >= self._raw_since + self.stable_s:  # same sum as due()
            self.level = self._raw
            return self.level
        return None

    def due(self) -> float | None:
        """When a change in progress will have been stable long enough (sample again then), or None."""
        if self._raw == self.level:
            return None
        return self._raw_since + self.stable_s
