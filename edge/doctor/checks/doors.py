"""The door controller answers HELLO with its firmware version, over the daemon's own door link.

The probe is the daemon's adapter (edge.doors.adapter.SerialDoorController, as `echannel doors probe` uses
it): the same port settings, the same HELLO and session handshake, and no door command is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass

from edge.doctor.framework import DoctorContext, Result, check

POLL_S = 0.02
STOP_DAEMON = "stop the daemon first (`systemctl stop echannel`): only one program can own the port"


@dataclass(frozen=True)
class DoorProbe:
    """What the controller said within the time allowed."""

    link_up: bool
    firmware: str | None
    boot_count: int | None
    detail: str  # the adapter's own account of the link (why it is down, when it is)
    open_error: str  # why the port could not be opened ("" when it opened)


def probe_doors(settings, timeout_s: float) -> DoorProbe:  # type: ignore[no-untyped-def]
    """Open the link, say HELLO, wait until the link is up (or the port fails, or time runs out), close."""
    from edge.doors.adapter import SerialDoorController

    controller = SerialDoorController(settings)

    async def listen() -> DoorProbe:
        task = asyncio.create_task(controller.run(lambda _event: None))
        deadline = asyncio.get_running_loop().time() + timeout_s
        try:
            while asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(POLL_S)
                if controller.link.link_up:
                    break
                if controller.port_opens == 0 and controller._last_open_error:
                    break  # the port does not open: waiting longer only retries the same error
            health = controller.health()  # while the port is still open
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        link = controller.link
        return DoorProbe(link.link_up, link.firmware, link.mcu_boot, health.detail, controller._last_open_error)

    return asyncio.run(listen())


@check("doors", title="door controller answers hello")
def door_controller(ctx: DoctorContext) -> Result:
    try:
        import edge.doors.adapter  # noqa: F401
    except ImportError as exc:
        return Result.skip(f"door link module not installed (edge.doors.adapter): {exc}")
    settings = ctx.config.doors
    port = settings.port
    if not os.path.exists(port):
        return Result.fail(f"{port}: no such device (nothing answers on doors.port)",
                           "plug the door controller in (USB) or check the UART wiring, power and the firmware; "
                           "`ls -l /dev/serial/by-id/` gives a stable name for doors.port",
                           port=port)
    if not os.access(port, os.R_OK | os.W_OK):
        return Result.fail(f"{port}: permission denied", "add the user to the 'dialout' group (the unit does)",
                           port=port)
    probe = probe_doors(settings, ctx.timeout_s)
    if probe.open_error:
        return Result.fail(f"{port}: cannot open: {probe.open_error}", STOP_DAEMON, port=port)
    if not probe.link_up:
        heard = f" (it said HELLO, firmware {probe.firmware}, but the link did not come up)" if probe.firmware else ""
        return Result.fail(
            f"{port}: no answer to HELLO within {ctx.timeout_s:g} s{heard}: {probe.detail}",
            "check the controller is powered and running the echannel firmware, and that doors.baudrate "
            f"({settings.baudrate}) matches it; " + STOP_DAEMON,
            port=port,
        )
    return Result.ok(f"{port}: firmware {probe.firmware or 'unknown'}, boot {probe.boot_count}",
                     port=port, firmware=probe.firmware, boot_count=probe.boot_count)
