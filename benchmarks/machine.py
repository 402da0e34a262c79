"""What machine a benchmark ran on: printed at the top of every benchmark's output."""

from __future__ import annotations

import os
import platform


def describe() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as info:
            mem_kb = int(info.readline().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        memory = "?"
    return (
        f"machine: {platform.platform()}; CPU: {cpu}; {os.cpu_count()} cores; {memory} RAM; "
        f"Python {platform.python_version()}"
    )
