"""`echannel sim gate`: bring up every simulated device of a gate and keep them up until SIGTERM/SIGINT, so that
the daemon (`echannel run`) or `echannel doctor` can be run against them by hand, with the same configuration."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from edge.cli import command_group

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "simulated.toml"


def register(subparsers: argparse._SubParsersAction) -> None:
    sim = command_group(subparsers, "sim", help="simulators", description="Simulated devices for tests and demos.")
    gate = sim.add_parser(
        "gate",
        help="bring up every simulated device of the gate and wait (for the daemon or the doctor)",
        description="Start mosquitto, pcscd with the virtual reader and the card emulator, the door-controller "
        "rig, the camera stream and the control-room key where the configuration says they are; print where; "
        "wait until SIGTERM/SIGINT, then stop everything started. Meanwhile run `echannel run --config FILE` "
        "or `echannel doctor --config FILE` in another terminal. Only one simulated gate can run on a machine.",
    )
    gate.add_argument("--config", default=str(DEFAULT_CONFIG), metavar="FILE",
                      help="the simulated gate's configuration (default: config/simulated.toml)")
    gate.add_argument("--card", action="store_true",
                      help="lay a test passport on the reader (for the doctor's reader check; a running daemon "
                      "would start reading it)")
    gate.set_defaults(handler=_sim_gate)


def _sim_gate(args: argparse.Namespace) -> int:
    from edge.config import ConfigError, load_config
    from simulators.launcher import LaunchError, SimulatedGate

    try:
        config = load_config(args.config, check_devices=False)  # the devices appear when the simulators start
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{args.config}: {problem}", file=sys.stderr)
        return 2

    busy = ports_in_use(config)
    if busy:
        # SimulatedGate.start() empties its work directory first: never start next to a running gate.
        print(f"echannel sim gate: {busy} already in use: another simulated gate (`echannel simulate`, "
              "`echannel sim gate`, a test run) seems to be up; stop it first", file=sys.stderr)
        return 1

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    sim = SimulatedGate(config)
    try:
        print("echannel sim gate: starting the simulators (waits while a test run holds the machine's pcscd)",
              flush=True)
        try:
            sim.start()  # on failure it stops what it had started
            if args.card:
                sim.card.present(sim.document("obama", "TD3", None))
        except (LaunchError, RuntimeError, OSError, TimeoutError) as exc:
            print(f"echannel sim gate: cannot start: {exc}", file=sys.stderr)
            return 1
        for line in describe(sim, args.config, card=args.card):
            print(line, flush=True)
        stop.wait()
        print("echannel sim gate: stopping", flush=True)
    finally:
        sim.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def ports_in_use(config) -> str:  # type: ignore[no-untyped-def]
    """The simulated gate's broker or camera port when something already listens on it, else ''."""
    from urllib.parse import urlparse

    from edge.telemetry.client import parse_broker_url
    from simulators.processes import port_open

    broker = parse_broker_url(config.telemetry.broker)
    camera = urlparse(config.face.camera)
    for what, host, port in (("broker port", broker.host, broker.port), ("camera port", camera.hostname, camera.port)):
        if host and port and port_open(host, port):
            return f"the {what} {host}:{port} is"
    return ""


def describe(sim, config_file: str, *, card: bool = False) -> list[str]:  # type: ignore[no-untyped-def]
    c = sim.config
    pids = {
        "mosquitto": sim.broker.pid if sim.broker else None,
        "pcscd": sim.card.pcscd.pid if sim.card else None,
        "card emulator": sim.card.emulator.pid if sim.card and sim.card.emulator else None,
    }
    return [
        f"simulated gate up ({config_file}); work directory {sim.work_dir}",
        f"  broker          {c.telemetry.broker} (mosquitto, PID {pids['mosquitto'] or '?'})",
        f"  card reader     {sim.card.reader!r} (pcscd PID {pids['pcscd']}, emulator PID {pids['card emulator']})"
        + (", a test passport on it" if card else ""),
        f"  MRZ reader      {c.document.mrz_port}",
        f"  trust store     {c.document.trust_store}",
        f"  door controller {c.doors.port} (the firmware's logic behind a pty, in this process)",
        f"  camera          {c.face.camera}",
        f"  control room    keys in {c.telemetry.command_keys}, private key {sim.work_dir / 'control-room.key'}",
        "  GPIO            gpiozero MockFactory (each process has its own mock board)",
        f"now: `echannel doctor --config {config_file} --skip clock` or `echannel run --config {config_file}`; "
        "Ctrl-C stops the simulators",
    ]
