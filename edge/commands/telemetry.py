"""Control-room subcommands: monitor (live view of a site), command (send a signed command), keys."""

from __future__ import annotations

import argparse
import sys


def _broker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", required=True, metavar="URL", help="mqtt://host:port or mqtts://host:port")
    parser.add_argument("--site", required=True, help="control point identifier")
    parser.add_argument("--prefix", default="echannel/v1", help="topic prefix (default echannel/v1)")
    parser.add_argument("--protocol", default="5", choices=("5", "3.1.1"), help="MQTT version (default 5)")
    parser.add_argument("--ca-file", default="", metavar="FILE", help="CA bundle to verify the broker (mqtts)")
    parser.add_argument("--client-cert", default="", metavar="FILE", help="client certificate (mqtts)")
    parser.add_argument("--client-key", default="", metavar="FILE", help="client certificate's key (mqtts)")
    parser.add_argument("--username", default="")
    parser.add_argument("--password-file", default="", metavar="FILE")


def register(subparsers: argparse._SubParsersAction) -> None:
    monitor = subparsers.add_parser(
        "monitor",
        help="live view of every gate of a site",
        description="Subscribe to a site's gates and show availability, state, doors, transactions, throughput "
        "and alarms; gates not heard from are marked STALE.",
    )
    _broker_options(monitor)
    monitor.add_argument("--stale-after", type=float, default=90.0, metavar="S", help="default 90 s")
    monitor.add_argument("--refresh", type=float, default=1.0, metavar="S", help="redraw interval (default 1 s)")
    monitor.add_argument(
        "--once",
        type=float,
        default=None,
        metavar="S",
        help="listen for S seconds, print the view once (no colours) and exit",
    )
    monitor.add_argument(
        "--web",
        default=None,
        metavar="HOST:PORT",
        help="serve the web dashboard here instead of the terminal view (same subscription, same commands)",
    )
    monitor.add_argument("--key", default=None, metavar="FILE", help="with --web: control-room key for commands")
    monitor.set_defaults(handler=_monitor)

    command = subparsers.add_parser(
        "command",
        help="send a signed command to a gate and print its answer",
        description="Sign a command with the control-room key, send it to GATE and wait for the answer. "
        "Actions: out_of_service, in_service, emergency_open, reset_alarm, rebirth, set_face_threshold VALUE. "
        "Exit code 0 accepted, 1 rejected, 3 no answer.",
    )
    _broker_options(command)
    command.add_argument("--key", required=True, metavar="FILE", help="control-room private key (PEM, Ed25519)")
    command.add_argument("--key-id", default=None, help="key id the gate knows (default: the key file's stem)")
    command.add_argument("--timeout", type=float, default=10.0, metavar="S", help="wait for the answer (10 s)")
    command.add_argument("--lifetime", type=float, default=60.0, metavar="S", help="command validity (60 s)")
    command.add_argument("gate")
    command.add_argument("action")
    command.add_argument("args", nargs="*", help="set_face_threshold: the threshold")
    command.set_defaults(handler=_command)

    keys = subparsers.add_parser("keys", help="control-room signing keys", description="Control-room signing keys.")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    generate = keys_sub.add_parser(
        "generate",
        help="create an Ed25519 key pair",
        description="Write NAME.key (private, 0600: keep it in the control room) and NAME.pub (copy it into "
        "each gate's telemetry.command_keys directory).",
    )
    generate.add_argument("--dir", required=True, metavar="DIR")
    generate.add_argument("--name", default="control-room", help="key id (default control-room)")
    generate.set_defaults(handler=_keys_generate)


def _client(args: argparse.Namespace, client_id: str):
    from edge.telemetry.client import make_client, parse_broker_url

    address = parse_broker_url(args.broker)
    client = make_client(
        client_id,
        protocol=args.protocol,
        tls=address.tls,
        ca_file=args.ca_file,
        client_cert=args.client_cert,
        client_key=args.client_key,
        username=args.username,
        password_file=args.password_file,
    )
    return client, address


def _monitor(args: argparse.Namespace) -> int:
    if args.web:
        from edge.commands.dashboard import run_dashboard

        return run_dashboard(
            args.web, args.broker, args.site, prefix=args.prefix, key=args.key, ca_file=args.ca_file or None
        )
    import threading
    import time
    import uuid

    from edge.telemetry.monitor import FleetView
    from edge.telemetry.topics import site_filter

    view = FleetView(args.prefix, args.site, args.stale_after)
    lock = threading.Lock()
    client, address = _client(args, f"echannel-monitor-{uuid.uuid4().hex[:8]}")

    def on_message(client, userdata, message) -> None:
        with lock:
            view.feed(message.topic, message.payload, time.time())

    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(site_filter(args.prefix, args.site), qos=1)
    client.connect_async(address.host, address.port)
    client.loop_start()
    try:
        if args.once is not None:
            time.sleep(args.once)
            with lock:
                print(view.render(time.time()))
            return 0
        while True:
            with lock:
                screen = view.render(time.time(), color=sys.stdout.isatty())
            sys.stdout.write("\x1b[H\x1b[2J" + screen + "\n")
            sys.stdout.flush()
            time.sleep(args.refresh)
    finally:
        client.disconnect()
        client.loop_stop()


def _command(args: argparse.Namespace) -> int:
    import json
    import threading
    import time
    import uuid
    from pathlib import Path

    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from edge.telemetry.commands import ACTIONS, load_private_key, sign_command
    from edge.telemetry.topics import GateTopics

    if args.action not in ACTIONS:
        print(f"unknown action {args.action!r}; one of: {', '.join(ACTIONS)}", file=sys.stderr)
        return 2
    command_args: dict[str, float] = {}
    if args.action == "set_face_threshold":
        try:
            (value,) = args.args
            command_args["threshold"] = float(value)
        except ValueError:
            print("set_face_threshold needs one number, e.g. 0.42", file=sys.stderr)
            return 2
    try:
        key = load_private_key(args.key)
    except (OSError, ValueError) as exc:
        print(f"{args.key}: {exc}", file=sys.stderr)
        return 2
    topics = GateTopics(args.prefix, args.site, args.gate)
    session = uuid.uuid4().hex[:12]
    reply_topic = f"{topics.base}/responses/{session}"
    v5 = args.protocol == "5"
    command = sign_command(
        key,
        args.key_id or Path(args.key).stem,
        site=args.site,
        gate=args.gate,
        action=args.action,
        args=command_args,
        now=time.time(),
        lifetime_s=args.lifetime,
        response_topic=None if v5 else reply_topic,
    )
    answer: dict = {}
    answered = threading.Event()
    subscribed = threading.Event()
    client, address = _client(args, f"echannel-command-{session}")

    def on_message(client, userdata, message) -> None:
        try:
            payload = json.loads(message.payload)
        except ValueError:
            return
        if payload.get("command_id") == command["id"]:
            answer.update(payload)
            answered.set()

    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(reply_topic, qos=1)
    client.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        if not subscribed.wait(args.timeout):
            print("no connection to the broker", file=sys.stderr)
            return 3
        properties = None
        if v5:
            properties = Properties(PacketTypes.PUBLISH)
            properties.ResponseTopic = reply_topic
            properties.CorrelationData = command["id"].encode()
        client.publish(topics.commands, json.dumps(command), qos=1, properties=properties)
        if not answered.wait(args.timeout):
            print(f"{args.gate}: no answer to {args.action} within {args.timeout:g} s", file=sys.stderr)
            return 3
    finally:
        client.disconnect()
        client.loop_stop()
    print(json.dumps(answer, sort_keys=True))
    verdict = "accepted" if answer.get("accepted") else f"rejected ({answer.get('reason')})"
    print(f"{args.gate}: {args.action} {verdict}", file=sys.stderr)
    return 0 if answer.get("accepted") else 1


def _keys_generate(args: argparse.Namespace) -> int:
    from edge.telemetry.commands import generate_key_pair

    try:
        private, public = generate_key_pair(args.dir, args.name)
    except FileExistsError as exc:
        print(f"{exc.filename}: already exists; not overwritten", file=sys.stderr)
        return 2
    print(f"private key: {private} (keep it in the control room)")
    print(f"public key:  {public} (copy into each gate's command_keys directory)")
    return 0
