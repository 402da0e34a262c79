"""`echannel doctor`: check a gate unit on site; each check passes or fails with the fix."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser(
        "doctor",
        help="check the gate's devices, network, files and clock",
        description="Check everything the gate needs: reader and card, camera, door controller, GPIO, broker, "
        "models, trust store, clock, disk. Exit status 1 when any check fails, 2 when the configuration "
        "cannot be read. Stop the daemon first (`systemctl stop echannel`): the serial port, GPIO lines "
        "and camera can have only one owner.",
    )
    doctor.add_argument("--config", metavar="FILE", help="the gate's TOML configuration (required)")
    doctor.add_argument("--json", action="store_true", help="print the results as JSON")
    doctor.add_argument("--only", action="append", metavar="CHECK", help="run only this check (repeatable)")
    doctor.add_argument("--skip", action="append", default=[], metavar="CHECK", help="skip this check (repeatable)")
    doctor.add_argument("--timeout", type=float, default=5.0, metavar="S", help="time per check (default 5 s)")
    doctor.add_argument("--list", action="store_true", help="list the checks and exit")
    doctor.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from edge.doctor.report import doctor_main

    if not args.config and not args.list:
        print("echannel doctor: --config FILE is required", file=sys.stderr)
        return 2

    return doctor_main(
        args.config, as_json=args.json, only=args.only, skip=args.skip, timeout_s=args.timeout,
        list_only=args.list, out=sys.stdout, err=sys.stderr,
    )

