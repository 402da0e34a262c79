"""`echannel doors probe` (talk to the door controller without moving a door) and `echannel panel inputs`."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    doors = subparsers.add_parser("doors", help="door-controller link tools", description="Door-controller link tools.")
    actions = doors.add_subparsers(dest="doors_command", metavar="ACTION", required=True)
    probe = actions.add_parser(
        "probe",
        help="open the link, listen, and report (no door is commanded)",
        description="Open the serial link to the door controller, say HELLO, listen for a few seconds and print "
        "the firmware version, door positions and link figures. No door command is sent. Exit code 0 when "
        "the controller answered, 1 otherwise.",
    )
    probe.add_argument("--port", default=None, metavar="DEV", help="serial device (default: [doors] port)")
    probe.add_argument("--config", default=None, metavar="FILE", help="the gate's TOML configuration")
    probe.add_argument("--seconds", type=float, default=2.0, help="how long to listen (default 2)")
    probe.set_defaults(handler=_probe)

    panel = subparsers.add_parser("panel", help="GPIO panel tools", description="GPIO panel tools.")
    panel_actions = panel.add_subparsers(dest="panel_command", metavar="ACTION", required=True)
    inputs = panel_actions.add_parser(
        "inputs",
        help="print the panel's inputs (fire alarm, emergency button, tamper, service key)",
        description="Read the panel's inputs once (debounced for the configured time) and print them.",
    )
    inputs.add_argument("--config", required=True, metavar="FILE", help="the gate's TOML configuration")
    inputs.set_defaults(handler=_panel_inputs)


def _settings(config: str | None, section: str, check_devices: bool = False):  # type: ignore[no-untyped-def]
    from edge.config import ConfigError, load_config

    if config is None:
        return None
    try:
        return getattr(load_config(config, check_devices=check_devices), section)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{config}: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def _probe(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import dataclasses

    from edge.doors.adapter import SerialDoorController
    from edge.doors.settings import DoorLinkSettings
    from edge.ports import Health

    settings = _settings(args.config, "doors") or DoorLinkSettings()
    if args.port:
        settings = dataclasses.replace(settings, port=args.port)
    doors = SerialDoorController(settings)
    events: list[object] = []

    async def listen() -> Health:
        task = asyncio.create_task(doors.run(events.append))
        await asyncio.sleep(args.seconds)
        health = doors.health()  # while the port is still open
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return health

    health = asyncio.run(listen())
    link = doors.link
    print(health.detail)
    if link.mcu_boot is not None:
        print(f"firmware {link.firmware}, boot {link.mcu_boot}")
    for door, position in link.positions.items():
        print(f"{door.value} door: {position.value}")
    for event in events:
        print(f"event: {event}")
    for notice in doors.notices:
        print(f"notice: {notice}")
    print("figures: " + ", ".join(f"{k}={v:g}" for k, v in sorted(health.figures.items())))
    return 0 if health.ok else 1


def _panel_inputs(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib

    from edge.panel.gpio import GpioPanel, PanelError

    settings = _settings(args.config, "panel")
    try:
        panel = GpioPanel(settings)
    except PanelError as exc:
        print(exc, file=sys.stderr)
        return 2
    events: list[object] = []

    async def read() -> None:
        task = asyncio.create_task(panel.run(events.append))
        await asyncio.sleep(settings.debounce_s + 0.1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(read())
        health = panel.health()
    finally:
        panel.close()
    print(health.detail)
    for event in events:
        print(f"event: {event}")
    return 0
