"""`echannel dashboard`: serve the control room's web dashboard for one site (to become `monitor --web`)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    dashboard = subparsers.add_parser(
        "dashboard",
        help="serve the control room's web dashboard of a site's gates",
        description="Follow every gate of a site over MQTT and serve a web page with a tile per gate, alarms "
        "that need an officer (colour and sound), throughput, and signed commands with their responses.",
    )
    dashboard.add_argument(
        "--listen",
        default="127.0.0.1:8480",
        metavar="HOST:PORT",
        help="where to serve the page (default 127.0.0.1:8480)",
    )
    dashboard.add_argument(
        "--broker",
        default="mqtt://127.0.0.1:1883",
        metavar="URL",
        help="mqtt://HOST:PORT or mqtts://HOST:PORT (default mqtt://127.0.0.1:1883)",
    )
    dashboard.add_argument("--site", required=True, help="site identifier (one topic level)")
    dashboard.add_argument("--prefix", default="echannel/v1", help="topic prefix (default echannel/v1)")
    dashboard.add_argument(
        "--key",
        default=None,
        metavar="FILE",
        help="Ed25519 private key (PEM) that signs commands; its file stem is the key id. "
        "Without it the buttons are refused",
    )
    dashboard.add_argument("--ca-file", default=None, metavar="FILE", help="CA bundle for mqtts")
    dashboard.set_defaults(handler=_dashboard)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen {value!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def _dashboard(args: argparse.Namespace) -> int:
    return run_dashboard(args.listen, args.broker, args.site, prefix=args.prefix, key=args.key, ca_file=args.ca_file)


def run_dashboard(
    listen: str,
    broker: str,
    site: str,
    *,
    prefix: str = "echannel/v1",
    key: str | None = None,
    ca_file: str | None = None,
) -> int:
    """Serve the dashboard until interrupted; the exit code. (`echannel monitor --web` can call this too.)"""
    import asyncio
    import logging

    from edge.dashboard.server import Dashboard

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        host, port = parse_listen(listen)
        dashboard = Dashboard(broker, site, prefix=prefix, key_file=key, ca_file=ca_file)
    except (ValueError, OSError) as exc:
        print(f"echannel dashboard: {exc}", file=sys.stderr)
        return 2

    def started(bound: int) -> None:
        print(f"dashboard of site {site} at http://{host}:{bound}/ (broker {broker})", flush=True)

    try:
        asyncio.run(dashboard.run(host, port, started))
    except OSError as exc:
        print(f"echannel dashboard: cannot listen on {listen}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
