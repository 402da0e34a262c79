"""The configuration as a whole, the clock, and room for the outbox."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
from pathlib import Path

from edge.config.validate import ConfigError, load_config
from edge.doctor.framework import DoctorContext, Result, check

# A stored event is a few hundred bytes of JSON plus SQLite overhead; 2 KiB each is a generous bound.
BYTES_PER_OUTBOX_EVENT = 2048
STA_UNSYNC = 0x0040  # adjtimex(2) status: the kernel clock is not synchronised
TIME_ERROR = 5


@check("config", title="configuration is valid, with every file and device it names")
def configuration(ctx: DoctorContext) -> Result:
    try:
        load_config(ctx.config_path, check_devices=True)
    except ConfigError as exc:
        return Result.fail(
            f"{len(exc.problems)} problem(s): " + "; ".join(exc.problems),
            f"edit {ctx.config_path} (each problem names its key); `echannel config check {ctx.config_path}`",
            problems=exc.problems,
        )
    return Result.ok(f"{ctx.config_path} is valid")


@check("clock", title="clock synchronised")
def clock(ctx: DoctorContext) -> Result:
    """Certificates, CRLs and record timestamps need the right time. Asks systemd-timesyncd/chrony through
    timedatectl, then chrony directly, then the kernel (adjtimex). In a container the kernel's answer is the
    host's, which is what the clock really is; say which source answered."""
    fix = "enable time synchronisation: `timedatectl set-ntp true` (systemd-timesyncd) or install chrony"
    answer = _timedatectl()
    if answer is not None:
        if answer:
            return Result.ok("synchronised (timedatectl: NTPSynchronized=yes)", source="timedatectl")
        return Result.fail("not synchronised (timedatectl: NTPSynchronized=no)", fix, source="timedatectl")
    answer = _chrony()
    if answer is not None:
        if answer:
            return Result.ok("synchronised (chronyc tracking: leap status normal)", source="chronyc")
        return Result.fail("not synchronised (chronyc tracking)", fix, source="chronyc")
    state = _adjtimex_synchronised()
    if state is None:
        return Result.warn("cannot tell: no timedatectl, chronyc or adjtimex answered", fix)
    if state:
        return Result.ok("kernel clock synchronised (adjtimex; no time daemon answered)", source="adjtimex")
    return Result.fail(
        "kernel clock not marked synchronised (adjtimex) and no time daemon answered",
        fix + "; in a container or VM the host keeps the time: check it there and skip this check "
        "(`--skip clock`)",
        source="adjtimex",
    )


def _timedatectl() -> bool | None:
    if not shutil.which("timedatectl"):
        return None
    try:
        out = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                             capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = out.stdout.strip()
    return None if out.returncode != 0 or value not in ("yes", "no") else value == "yes"


def _chrony() -> bool | None:
    if not shutil.which("chronyc"):
        return None
    try:
        out = subprocess.run(["chronyc", "-n", "tracking"], capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    for line in out.stdout.splitlines():
        if line.startswith("Leap status"):
            return line.split(":", 1)[1].strip().lower() == "normal"
    return None


class _Timex(ctypes.Structure):
    # struct timex: mode is the first field, status the 10th int-sized or long-sized field; read through
    # the whole structure size (208 bytes on 64-bit Linux) and pick `status` by offset below.
    _fields_ = [("raw", ctypes.c_byte * 256)]


def _adjtimex_synchronised() -> bool | None:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        timex = _Timex()  # mode 0: read only
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    # status follows mode (int, padded), offset, freq, maxerror, esterror (longs): 8 + 4*8 = 40 on LP64
    long_size = ctypes.sizeof(ctypes.c_long)
    offset = max(ctypes.sizeof(ctypes.c_int), long_size) + 4 * long_size
    status = int.from_bytes(bytes(timex.raw[offset : offset + 4]), "little", signed=True)
    return not (status & STA_UNSYNC) and state != TIME_ERROR


@check("disk", title="disk space for the outbox")
def outbox_space(ctx: DoctorContext) -> Result:
    telemetry = ctx.config.telemetry
    outbox = ctx.path(telemetry.outbox)
    directory = outbox.parent
    needed = telemetry.outbox_max_events * BYTES_PER_OUTBOX_EVENT
    existing = _nearest_existing(directory)
    if existing != directory:
        return Result.fail(
            f"the outbox directory {directory} does not exist",
            "create it: the unit's StateDirectory=echannel creates /var/lib/echannel on start; "
            "elsewhere `install -d -o echannel -m 0700 DIR`",
        )
    if not os.access(directory, os.W_OK):
        return Result.fail(f"{directory} is not writable by this user",
                           "run the doctor as the gate's user (`sudo -u echannel echannel doctor ...`) or fix "
                           "the directory's owner")
    stats = os.statvfs(directory)
    free = stats.f_bavail * stats.f_frsize
    used = outbox.stat().st_size if outbox.exists() else 0
    details = {"free_bytes": free, "needed_bytes": needed, "outbox_bytes": used}
    limit = telemetry.outbox_max_events
    message = f"{_mib(free)} free in {directory}, outbox may grow to {_mib(needed)} ({limit} events)"
    if free + used < needed:
        return Result.fail(message, "free space on that file system or lower telemetry.outbox_max_events", **details)
    if free < 2 * needed:
        return Result.warn(message + ": less than twice that",
                           "free space on that file system (logs, old images) before it runs short", **details)
    return Result.ok(message, **details)


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"
