"""The traveller's guidance display: a local web page the gate's kiosk browser shows full screen.

    display = TravellerDisplayServer(config.display)
    asyncio.create_task(display.run(emit))     # serves http://127.0.0.1:8470/ until cancelled
    display.show(Message.LOOK_AT_CAMERA, 0.4)  # what the daemon does for every ShowMessage action

The page (static/index.html) follows the gate over server-sent events (/events) and renders the message
with its pictogram and its text in every configured language (catalogues/*.json, fetched from /config.json).
Only a Message and a progress number ever reach the page: the display has no way to show personal data.
If the daemon restarts, the browser's EventSource reconnects by itself and gets the current message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
from pathlib import Path
from typing import Any

from edge.display.catalogues import CATALOGUE_DIR, load_catalogues
from edge.display.settings import DisplaySettings
from edge.gate.actions import Message
from edge.ports import EventSink, Health
from edge.web.http import EventStream, Request, Response, Subscribers, WebServer

log = logging.getLogger("edge.display")
STATIC_DIR = Path(__file__).with_name("static")


class TravellerDisplayServer:
    """Implements edge.ports.TravellerDisplay; an asyncio device (run/health) that emits no events."""

    def __init__(self, settings: DisplaySettings | None = None, catalogue_dir: Path = CATALOGUE_DIR) -> None:
        self.settings = settings or DisplaySettings()
        self.catalogues = load_catalogues(self.settings.languages, catalogue_dir)  # fail at start, not at the gate
        self._message: Message | None = None  # None until the gate says something: the page shows "starting"
        self._progress: float | None = None
        self._seq = 0
        self._subscribers = Subscribers(self._current)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._port: int | None = None
        self._web = WebServer(
            {
                ("GET", "/"): self._page,
                ("GET", "/config.json"): self._config,
                ("GET", "/state.json"): self._state,
                ("GET", "/events"): self._events,
            },
            static=STATIC_DIR,
        )

    # --- edge.ports.TravellerDisplay ------------------------------------------------------------------------

    def show(self, message: Message, progress: float | None = None) -> None:
        """Show `message` (with the face-capture cue at `progress`, 0..1). Safe from any thread; anything that
        is not a Message is refused (logged), so nothing else can ever reach the traveller's screen."""
        try:
            message = Message(message)
        except ValueError:
            log.error("display: refused to show %r: not a known message", type(message).__name__)
            return
        progress = _clamp(progress)
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            loop.call_soon_threadsafe(self._set, message, progress)
        else:
            self._set(message, progress)

    # --- asyncio device ----------------------------------------------------------------------------------------

    async def run(self, emit: EventSink) -> None:
        """Serve the page until cancelled. A port already in use raises: the daemon stops and says why."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        try:
            await self._web.serve(self.settings.bind, self.settings.port, started=self._listening)
        finally:
            self._port = None

    def health(self) -> Health:
        if self._port is None:
            return Health(False, "not serving", {"screens": 0.0})
        screens = len(self._subscribers)
        detail = f"serving {self.url}; {screens} screen(s) following" if screens else f"serving {self.url}; no screen"
        return Health(True, detail, {"screens": float(screens)})

    @property
    def url(self) -> str:
        host = self.settings.bind if ":" not in self.settings.bind else f"[{self.settings.bind}]"
        return f"http://{host}:{self._port or self.settings.port}/"

    @property
    def current(self) -> tuple[Message | None, float | None]:
        return self._message, self._progress

    # --- internals -------------------------------------------------------------------------------------------

    def _listening(self, port: int) -> None:
        self._port = port
        log.info("display: serving the traveller's page at %s", self.url)

    def _set(self, message: Message, progress: float | None) -> None:
        self._message, self._progress = message, progress
        self._seq += 1
        self._subscribers.publish(self._current())

    def _current(self) -> str:
        return json.dumps(
            {
                "seq": self._seq,
                "message": self._message.value if self._message else None,
                "progress": self._progress,
            }
        )

    async def _page(self, request: Request) -> Response:
        return Response(200, (STATIC_DIR / "index.html").read_bytes(), "text/html; charset=utf-8")

    async def _config(self, request: Request) -> Response:
        s = self.settings
        config: dict[str, Any] = {
            "languages": list(s.languages),
            "mode": s.mode,
            "cycle_s": s.cycle_s,
            "catalogues": self.catalogues,
        }
        return Response.json(config)

    async def _state(self, request: Request) -> Response:
        return Response(200, self._current().encode(), "application/json")

    async def _events(self, request: Request) -> EventStream:
        return EventStream(self._subscribers.follow())


def _clamp(progress: float | None) -> float | None:
    if progress is None:
        return None
    try:
        value = float(progress)
    except (TypeError, ValueError):
        return None
    if math.isnan(value):
        return None
    return min(1.0, max(0.0, value))
