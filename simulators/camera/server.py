"""Serve a scene as an MJPEG stream over HTTP on 127.0.0.1, the way an IP camera does.

    GET  /stream              multipart/x-mixed-replace JPEG frames at the configured rate
                              (cv2.VideoCapture("http://127.0.0.1:PORT/stream") opens it with FFmpeg)
    GET  /frame.jpg           one frame of the current scene
    GET  /scenario            the current scenario as JSON
    POST /scenario            {"name": "genuine", "person": "obama", "other": "", "seed": 1, "stall_after_s": 0.5}
                              switches the scene; its clock restarts at 0
    GET  /portrait?person=P   the chip-portrait JPEG of P (for the card simulator or a test harness)
    GET  /people              the people the simulator can show

While a scene stalls, the stream sends nothing and keeps the connection open, as a frozen camera does.
"""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import cv2

from simulators.camera import library
from simulators.camera.scenes import ScenarioSpec, Scene

BOUNDARY = "frame"


class CameraServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, fps: float = 15.0, size: tuple[int, int] = (640, 480), quality: int = 85):
        super().__init__(("127.0.0.1", port), _Handler)
        self.fps = fps
        self.size = size
        self.quality = quality
        self._lock = threading.Lock()
        self._scene = Scene(ScenarioSpec(), size)
        self._scene_started = time.monotonic()
        self._thread: threading.Thread | None = None
        self.frames_sent = 0

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream"

    def set_scenario(self, spec: ScenarioSpec) -> None:
        scene = Scene(spec, self.size)
        scene.frame(0.0)  # render once now: first-frame caching must not look like a stall
        with self._lock:
            self._scene, self._scene_started = scene, time.monotonic()

    def current(self) -> tuple[Scene, float]:
        with self._lock:
            return self._scene, time.monotonic() - self._scene_started

    def start_background(self) -> CameraServer:
        self._thread = threading.Thread(target=self.serve_forever, name="camera-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: CameraServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet: a frame per request otherwise
        return

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/stream":
            self._stream()
        elif url.path == "/frame.jpg":
            scene, t = self.server.current()
            frame = scene.frame(t)
            if frame is None:
                self._reply(HTTPStatus.SERVICE_UNAVAILABLE, b"stalled", "text/plain")
            else:
                self._reply(HTTPStatus.OK, self._jpeg(frame), "image/jpeg")
        elif url.path == "/scenario":
            scene, t = self.server.current()
            body = {**scene.spec.__dict__, "t": round(t, 3)}
            self._reply(HTTPStatus.OK, json.dumps(body).encode(), "application/json")
        elif url.path == "/portrait":
            person = parse_qs(url.query).get("person", ["obama"])[0]
            try:
                self._reply(HTTPStatus.OK, self._jpeg(library.portrait(person)), "image/jpeg")
            except KeyError as exc:
                self._reply(HTTPStatus.NOT_FOUND, str(exc).encode(), "text/plain")
        elif url.path == "/people":
            self._reply(HTTPStatus.OK, json.dumps(library.people()).encode(), "application/json")
        else:
            self._reply(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

    def do_POST(self) -> None:
        if urlparse(self.path).path != "/scenario":
            self._reply(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            spec = ScenarioSpec(**json.loads(self.rfile.read(length) or b"{}"))
        except (ValueError, TypeError, KeyError) as exc:
            self._reply(HTTPStatus.BAD_REQUEST, f"bad scenario: {exc}".encode(), "text/plain")
            return
        self.server.set_scenario(spec)
        self._reply(HTTPStatus.OK, json.dumps(spec.__dict__).encode(), "application/json")

    def _stream(self) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        period = 1.0 / self.server.fps
        next_at = time.monotonic()
        try:
            while True:
                scene, t = self.server.current()
                frame = scene.frame(t)
                if frame is not None:
                    jpeg = self._jpeg(frame)
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                    self.wfile.write(head.encode() + jpeg + b"\r\n")
                    self.wfile.flush()
                    self.server.frames_sent += 1
                next_at += period
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at = max(next_at, time.monotonic() - period)  # a slow client: skip, do not catch up
        except (BrokenPipeError, ConnectionResetError, OSError):
            return  # the client went away

    def _jpeg(self, image) -> bytes:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.server.quality])
        return data.tobytes() if ok else b""

    def _reply(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
