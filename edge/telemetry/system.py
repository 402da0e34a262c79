"""CPU, memory and temperature from /proc and /sys for the metrics message (Linux; None where absent)."""

from __future__ import annotations

import os
from pathlib import Path


class SystemSampler:
    def __init__(self) -> None:
        self._last_cpu: tuple[int, int] | None = None

    def sample(self) -> dict[str, float | None]:
        return {
            "cpu_percent": self._cpu_percent(),
            "memory_percent": _memory_percent(),
            "rss_mb": _rss_mb(),
            "temperature_c": _temperature_c(),
            "load1": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        }

    def _cpu_percent(self) -> float | None:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        idle, total = fields[3] + (fields[4] if len(fields) > 4 else 0), sum(fields)
        last, self._last_cpu = self._last_cpu, (idle, total)
        if last is None or total == last[1]:
            return None
        return round(100.0 * (1 - (idle - last[0]) / (total - last[1])), 1)


def _memory_percent() -> float | None:
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        total, available = int(info["MemTotal"].split()[0]), int(info["MemAvailable"].split()[0])
    except (OSError, KeyError, ValueError):
        return None
    return round(100.0 * (1 - available / total), 1)


def _rss_mb() -> float | None:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)


def _temperature_c() -> float | None:
    """Highest thermal zone (the SoC on a Raspberry Pi); None on machines without one (VMs)."""
    readings = []
    for zone in Path("/sys/class/thermal").glob("thermal_zone*/temp"):
        try:
            readings.append(int(zone.read_text().strip()) / 1000.0)
        except (OSError, ValueError):
            continue
    return max(readings) if readings else None
