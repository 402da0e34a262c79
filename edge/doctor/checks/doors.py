"""The door controller answers HELLO with its firmware version (the serial link module does the talking)."""

from __future__ import annotations

import os

from edge.doctor.framework import DoctorContext, Result, check


@check("doors", title="door controller answers hello")
def door_controller(ctx: DoctorContext) -> Result:
    try:
        from edge.doors import probe_hello  # (port, baudrate, timeout) -> firmware version
    except ImportError:
        return Result.skip("door link module not installed (edge.doors.probe_hello)")
    settings = ctx.config.doors
    port = settings.port
    if not os.path.exists(port):
        return Result.fail(f"{port}: no such device",
                           "plug the door controller in (USB) or check the UART; `ls -l /dev/serial/by-id/` "
                           "gives a stable name for doors.port")
    if not os.access(port, os.R_OK | os.W_OK):
        return Result.fail(f"{port}: permission denied", "add the user to the 'dialout' group (the unit does)")
    try:
        version = probe_hello(port, settings.baudrate, ctx.timeout_s)
    except TimeoutError:
        return Result.fail(f"{port}: no HELLO within {ctx.timeout_s:g} s",
                           "check the controller is powered and running the echannel firmware, and that "
                           f"doors.baudrate ({settings.baudrate}) matches it; stop the daemon first "
                           "(`systemctl stop echannel`): only one program can own the port")
    except OSError as exc:
        return Result.fail(f"{port}: {exc}", "stop the daemon first (`systemctl stop echannel`): "
                           "only one program can own the port")
    return Result.ok(f"{port}: firmware {version}", firmware=str(version))
