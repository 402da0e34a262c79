"""Drive a running camera simulator from a test or the gate simulator (HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from simulators.processes import ChildProcess, free_port, port_open, wait_until

REPO = Path(__file__).resolve().parents[2]


class CameraControl:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.base = f"http://{host}:{port}"

    @property
    def stream_url(self) -> str:
        return f"{self.base}/stream"

    def set_scenario(self, name: str, person: str = "obama", **extra: object) -> dict:
        body = json.dumps({"name": name, "person": person, **extra}).encode()
        request = urllib.request.Request(f"{self.base}/scenario", data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def scenario(self) -> dict:
        with urllib.request.urlopen(f"{self.base}/scenario", timeout=5) as response:
            return json.loads(response.read())

    def portrait(self, person: str = "obama") -> np.ndarray:
        """The chip portrait of `person` as a BGR array (what the document reader would hand over)."""
        with urllib.request.urlopen(f"{self.base}/portrait?person={person}", timeout=10) as response:
            data = response.read()
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def start_camera_simulator(port: int | None = None, fps: float = 15.0, log_dir: str | None = None):
    """Start `python -m simulators.camera` as a child process; returns (process, control). Stop it by PID."""
    port = port or free_port()
    argv = [sys.executable, "-m", "simulators.camera", "--port", str(port), "--fps", str(fps)]
    child = ChildProcess(argv, name="camera-sim", cwd=REPO, log_dir=log_dir).start()
    try:
        wait_until(lambda: port_open("127.0.0.1", port) or not child.alive(), timeout=20, what="camera simulator")
        if not child.alive():
            raise RuntimeError(f"camera simulator exited: {child.log_tail()}")
    except BaseException:
        child.stop()
        raise
    return child, CameraControl(port)
