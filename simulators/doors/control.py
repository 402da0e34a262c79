"""Line-based control of a running door rig, for the simulated gate and for tests of the subprocess.

One command per line, one JSON answer per line ({"ok": true, "result": ...} or {"ok": false, "error": ...}):

    walk NAME TO [SPEED]     place NAME X       remove NAME
    drop NAME X              pickup NAME
    obstruct entry|exit on|off                  fire on|off
    reset                    power-loss MS      hang
    status

The same parser serves the TCP socket (127.0.0.1 only) and, with `--stdin`, standard input.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from typing import Any

from simulators.doors.rig import DoorRig

DOORS = {"entry": 0, "exit": 1}
SWITCH = {"on": True, "off": False}


def parse(line: str) -> tuple[str, tuple[Any, ...]]:
    """Turn a command line into (rig action, arguments); ValueError names what is wrong."""
    words = line.split()
    if not words:
        raise ValueError("empty command")
    verb, args = words[0].lower(), words[1:]

    def need(count: int, usage: str) -> None:
        if len(args) != count:
            raise ValueError(f"usage: {usage}")

    if verb == "walk":
        if len(args) not in (2, 3):
            raise ValueError("usage: walk NAME TO [SPEED]")
        return "walk", (args[0], float(args[1]), float(args[2]) if len(args) == 3 else 1.0)
    if verb == "place":
        need(2, "place NAME X")
        return "place", (args[0], float(args[1]))
    if verb == "remove":
        need(1, "remove NAME")
        return "remove", (args[0],)
    if verb == "drop":
        need(2, "drop NAME X")
        return "drop_object", (args[0], float(args[1]))
    if verb == "pickup":
        need(1, "pickup NAME")
        return "pick_up", (args[0],)
    if verb == "obstruct":
        need(2, "obstruct entry|exit on|off")
        if args[0] not in DOORS or args[1] not in SWITCH:
            raise ValueError("usage: obstruct entry|exit on|off")
        return "obstruct", (DOORS[args[0]], SWITCH[args[1]])
    if verb == "fire":
        need(1, "fire on|off")
        if args[0] not in SWITCH:
            raise ValueError("usage: fire on|off")
        return "set_fire", (SWITCH[args[0]],)
    if verb == "reset":
        need(0, "reset")
        return "reset", ()
    if verb == "power-loss":
        need(1, "power-loss MS")
        return "power_loss", (int(args[0]),)
    if verb == "hang":
        need(0, "hang")
        return "hang", ()
    if verb == "status":
        need(0, "status")
        return "snapshot", ()
    raise ValueError(f"unknown command {verb!r}")


def execute(rig: DoorRig, line: str) -> dict[str, Any]:
    try:
        action, args = parse(line)
        return {"ok": True, "result": rig.do(action, *args)}
    except ValueError as error:
        return {"ok": False, "error": str(error)}


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class ControlServer:
    """TCP control socket on 127.0.0.1 (port 0: a free one, see `.port`)."""

    def __init__(self, rig: DoorRig, port: int = 0) -> None:
        rig_ = rig

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for raw in self.rfile:
                    line = raw.decode("utf-8", "replace").strip()
                    if not line:
                        continue
                    answer = execute(rig_, line)
                    self.wfile.write((json.dumps(answer) + "\n").encode())

        self._server = _Server(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="door-rig-control", daemon=True)

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class RigControl:
    """Client of the control socket: `RigControl(port).send("fire on")` -> the JSON answer as a dict."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> None:
        self._socket = socket.create_connection((host, port), timeout=timeout)
        self._file = self._socket.makefile("rwb")

    def send(self, line: str) -> dict[str, Any]:
        self._file.write(line.encode() + b"\n")
        self._file.flush()
        answer = self._file.readline()
        if not answer:
            raise ConnectionError("the door rig closed the control connection")
        return json.loads(answer)

    def close(self) -> None:
        self._file.close()
        self._socket.close()

    def __enter__(self) -> RigControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
