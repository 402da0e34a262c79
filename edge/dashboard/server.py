"""`echannel dashboard`: the control room's web page, fed by one MQTT subscription to a whole site.

    GET  /             the page (static/dashboard.html, .js, .css; nothing from elsewhere)
    GET  /events       server-sent events: a snapshot, then every TICK_S the tiles that changed
    POST /api/command  {"gate": "g07", "action": "reset_alarm"} -> signed, published; 202 {"command_id"}
The gate's answer arrives on its responses topic and shows in its tile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.dashboard import wire
from edge.dashboard.feed import SiteFeed
from edge.dashboard.fleet import Fleet
from edge.web.http import EventStream, Request, Response, Subscribers, WebServer

log = logging.getLogger("edge.dashboard")
STATIC_DIR = Path(__file__).with_name("static")
TICK_S = 0.25  # at most four page updates a second, however many gates are talking


class Dashboard:
    def __init__(
        self,
        broker: str,
        site: str,
        *,
        prefix: str = wire.DEFAULT_PREFIX,
        key_file: str | None = None,
        ca_file: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.broker, self.site, self.prefix, self.ca_file = broker, wire.check_level(site, "site"), prefix, ca_file
        self.key = wire.load_private_key(key_file) if key_file else None
        self.key_id = Path(key_file).stem if key_file else ""  # generate_key_pair writes KEY_ID.key
        self.clock = clock
        self.fleet = Fleet()
        self.broker_connected = False
        self._broker_changed = False
        self._feed: SiteFeed | None = None
        self._subscribers = Subscribers(self._snapshot)
        self.web = WebServer(
            {
                ("GET", "/"): self._page,
                ("GET", "/events"): self._events,
                ("GET", "/api/tiles"): self._tiles,
                ("POST", "/api/command"): self._command,
            },
            static=STATIC_DIR,
        )

    async def run(self, host: str, port: int, started: Callable[[int], None] | None = None) -> None:
        """Serve and follow the site until cancelled."""
        loop = asyncio.get_running_loop()
        self._feed = SiteFeed(
            self.broker, self.site, self.prefix, loop, self._on_message, self._on_connection, self.ca_file
        )
        self._feed.start()
        ticker = asyncio.create_task(self._tick())
        try:
            await self.web.serve(host, port, started)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            self._feed.stop()

    # --- MQTT -> fleet -> browsers -----------------------------------------------------------------------------

    def _on_message(self, site: str, gate: str, kind: str, payload: dict[str, Any]) -> None:
        if site == self.site:
            self.fleet.apply(site, gate, kind, payload, self.clock())

    def _on_connection(self, connected: bool) -> None:
        if connected != self.broker_connected:
            self.broker_connected, self._broker_changed = connected, True
            log.info("dashboard: broker %s", "connected" if connected else "disconnected")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.fleet.expire(self.clock())
            tiles = self.fleet.take_changes()
            if tiles or self._broker_changed:
                self._broker_changed = False
                self._subscribers.publish(self._message("tiles", tiles))

    def _message(self, kind: str, tiles: list[dict[str, Any]]) -> str:
        return json.dumps(
            {
                "type": kind,
                "site": self.site,
                "broker": self.broker_connected,
                "summary": self.fleet.summary(),
                "commands": self.key is not None,
                "tiles": tiles,
            },
            separators=(",", ":"),
        )

    def _snapshot(self) -> str:
        return self._message("snapshot", self.fleet.snapshot())

    # --- routes -----------------------------------------------------------------------------------------------

    async def _page(self, request: Request) -> Response:
        return Response(200, (STATIC_DIR / "dashboard.html").read_bytes(), "text/html; charset=utf-8")

    async def _events(self, request: Request) -> EventStream:
        return EventStream(self._subscribers.follow())

    async def _tiles(self, request: Request) -> Response:
        return Response.json(self.fleet.snapshot())

    async def _command(self, request: Request) -> Response:
        # The page is the only client: a JSON body (a cross-site form cannot send one without a CORS preflight,
        # which this server never grants) and, when the browser names one, our own origin.
        if not request.headers.get("content-type", "").startswith("application/json"):
            return Response.json({"error": "expected application/json"}, 415)
        origin = request.headers.get("origin")
        if origin is not None and origin not in (
            f"http://{request.headers.get('host', '')}",
            f"https://{request.headers.get('host', '')}",
        ):
            return Response.json({"error": "cross-origin command refused"}, 403)
        body = request.json()
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        gate, action = str(body.get("gate", "")), str(body.get("action", ""))
        wire.check_level(gate, "gate")
        if action not in wire.COMMAND_ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if self.key is None or self._feed is None:
            return Response.json({"error": "this dashboard has no signing key (--key)"}, 503)
        if not self.broker_connected:
            return Response.json({"error": "not connected to the broker"}, 503)
        command = wire.sign(self.key, self.key_id, site=self.site, gate=gate, action=action, now=self.clock())
        self._feed.publish_command(gate, command)
        self.fleet.sent(self.site, gate, command["id"], action)
        log.info("dashboard: sent %s to %s/%s (%s)", action, self.site, gate, command["id"])
        return Response.json({"command_id": command["id"], "action": action}, 202)
