"""The `echannel` command line.

Each part of the system adds its own subcommands through a module with `register(subparsers)`, listed in
PLUGINS; those modules import only argparse-level code at import time so `echannel --help` stays fast.
A handler returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

import edge

# Modules that add subcommands (each defines `register(subparsers)`).
PLUGINS: tuple[str, ...] = (
    "edge.commands.core",
    "edge.commands.doctor",
    "edge.commands.dashboard",
    "edge.commands.document",
    "edge.commands.biometrics",
    "edge.commands.telemetry",
    "edge.commands.firmware",
    "edge.commands.doors",
    "edge.commands.simgate",
)


def command_group(subparsers: argparse._SubParsersAction, name: str, **kwargs: Any) -> argparse._SubParsersAction:
    """The subcommands of group `name` (e.g. `sim`), creating the group unless another plugin already did."""
    parser = subparsers.choices.get(name) or subparsers.add_parser(name, **kwargs)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="echannel",
        description="Edge controller for an automated border-control gate (e-Channel).",
    )
    parser.add_argument("--version", action="version", version=f"echannel {edge.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in PLUGINS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
