"""`echannel sim doors`: run the door rig until stopped, print where to find it, take control commands."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

from simulators.doors.control import ControlServer, execute
from simulators.doors.rig import DoorRig


def serve(
    link: str | None,
    control_port: int = 0,
    *,
    read_stdin: bool = False,
    overrides: dict[str, Any] | None = None,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Start the rig and its control socket, print one JSON line {"pty", "link", "control_port"}, run until
    SIGTERM/SIGINT (or `stop` is set). Returns the exit code."""
    stop = stop or threading.Event()
    rig = DoorRig(link, **(overrides or {})).start()
    control = ControlServer(rig, control_port).start()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    print(json.dumps({"pty": rig.pty_name, "link": rig.port, "control_port": control.port}), flush=True)
    if ready is not None:
        ready.set()
    if read_stdin:
        threading.Thread(target=_stdin_commands, args=(rig, stop), daemon=True).start()
    try:
        stop.wait()
    finally:
        control.stop()
        rig.stop()
    return 0


def _stdin_commands(rig: DoorRig, stop: threading.Event) -> None:
    for line in sys.stdin:
        if line.strip() in ("quit", "exit"):
            break
        if line.strip():
            print(json.dumps(execute(rig, line)), flush=True)
    stop.set()
