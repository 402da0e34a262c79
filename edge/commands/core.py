"""Core subcommands: run, simulate, config check, version."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="run the gate daemon", description="Run the gate daemon.")
    run.add_argument("--config", required=True, metavar="FILE", help="the gate's TOML configuration")
    run.set_defaults(handler=_run)

    simulate = subparsers.add_parser(
        "simulate",
        help="run a whole simulated gate and send travellers through it",
        description="Start the simulated devices and the real daemon, send travellers through the gate, "
        "print a line per transaction and a summary table.",
    )
    simulate.add_argument("--travellers", type=int, default=20, metavar="N", help="how many (default 20)")
    simulate.add_argument("--config", default=None, metavar="FILE", help="default: config/simulated.toml")
    simulate.add_argument("--seed", type=int, default=1, help="scenario mix seed (default 1)")
    simulate.add_argument("--report", default=None, metavar="FILE", help="write a JSON report here")
    simulate.add_argument(
        "--in-process", action="store_true", help="in-process stand-in devices instead of the simulators (quick)"
    )
    simulate.add_argument(
        "--mix",
        default=None,
        metavar="NAME=W,...",
        help="scenario weights, e.g. genuine_td1=10,impostor=2 (default: a plausible day; see --list-scenarios)",
    )
    simulate.add_argument("--list-scenarios", action="store_true", help="list the scenarios and exit")
    simulate.add_argument(
        "--monitor", action="store_true", help="show the control room's view (echannel monitor) beside the run"
    )
    simulate.set_defaults(handler=_simulate)

    config = subparsers.add_parser("config", help="configuration tools", description="Configuration tools.")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser(
        "check", help="validate a configuration file", description="Validate a gate configuration file."
    )
    check.add_argument("file", metavar="FILE")
    check.add_argument(
        "--no-devices",
        action="store_true",
        help="do not require devices and run-time paths to exist (a simulated gate's ptys and trust store)",
    )
    check.set_defaults(handler=_config_check)
    example = config_sub.add_parser(
        "example", help="print a documented example configuration", description="Print every key, documented."
    )
    example.set_defaults(handler=_config_example)

    version = subparsers.add_parser("version", help="print the software version", description="Print versions.")
    version.set_defaults(handler=_version)


def _config_check(args: argparse.Namespace) -> int:
    from edge.config import ConfigError, load_config

    try:
        config = load_config(args.file, check_devices=not args.no_devices)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        return 2
    print(f"{args.file}: OK (site {config.gate.site}, gate {config.gate.gate_id})")
    return 0


def _config_example(args: argparse.Namespace) -> int:
    from edge.config.example import render

    sys.stdout.write(render())
    return 0


def _version(args: argparse.Namespace) -> int:
    import edge

    print(f"echannel {edge.__version__}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from edge.daemon import run_from_config

    return run_from_config(args.config)


def _simulate(args: argparse.Namespace) -> int:
    from simulators.gate import simulate
    from simulators.scenarios import DEFAULT_MIX, SCENARIOS

    if args.list_scenarios:
        for name, scenario in SCENARIOS.items():
            expected = f"{scenario.expected_outcome}/{scenario.expected_reason}"
            print(f"{name:<22} default weight {DEFAULT_MIX.get(name, 0):>4}   expected {expected}")
        return 0
    try:
        mix = _parse_mix(args.mix) if args.mix else None
    except ValueError as exc:
        print(f"--mix: {exc}", file=sys.stderr)
        return 2
    return simulate(
        args.travellers,
        args.config,
        args.seed,
        args.report,
        in_process=args.in_process,
        mix=mix,
        monitor=args.monitor,
    )


def _parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        try:
            mix[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"{part!r}: the weight must be a number") from None
    return mix
