"""A deliberately small HTTP/1.1 server on asyncio streams: static files, JSON, and server-sent events.

Both screens need only this: the traveller's page (GET the page, follow one SSE stream) and the control
room's dashboard (the same, plus POST a command). The standard library's http.server is thread-based and
would not share the daemon's event loop; a framework would add a dependency for three routes. One request
per connection (Connection: close) keeps the parser trivial; an SSE response simply never ends.

Why SSE and not WebSocket: the screens only receive (commands go back as plain POSTs), SSE is plain HTTP,
and the browser's EventSource reconnects by itself (after `retry` ms) when the daemon restarts.

    server = WebServer({("GET", "/"): page, ("GET", "/events"): stream}, static=Path("static"))
    await server.serve("127.0.0.1", 8470)   # until cancelled
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger("edge.web")

MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024
READ_TIMEOUT_S = 10.0
HEARTBEAT_S = 15.0  # an SSE comment this often lets a dead client be noticed (the write fails)
RECONNECT_MS = 1000  # EventSource's `retry`: how soon the page reconnects after the server went away

# No script, style, image or font from anywhere but this server; no framing by other pages.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Response:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, body, "application/json; charset=utf-8")

    @classmethod
    def text(cls, text: str, status: int) -> Response:
        return cls(status, text.encode())


@dataclass
class EventStream:
    """A server-sent-events response: each item the iterator yields is sent as one `data:` message."""

    messages: AsyncIterator[str]


Handler = Callable[[Request], Awaitable[Response | EventStream]]


class WebServer:
    def __init__(self, routes: dict[tuple[str, str], Handler], static: Path | None = None) -> None:
        self.routes = routes
        self.static = static.resolve() if static else None
        self.streams = 0  # SSE clients connected now
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task] = set()

    @property
    def port(self) -> int | None:
        if self._server is None or not self._server.sockets:
            return None
        return self._server.sockets[0].getsockname()[1]

    async def serve(self, host: str, port: int, started: Callable[[int], None] | None = None) -> None:
        """Listen until cancelled (port 0 picks a free port; `started` is told which)."""
        self._server = await asyncio.start_server(self._connection, host, port, reuse_address=True)
        if started:
            started(self.port or port)
        try:
            async with self._server:
                await self._server.serve_forever()
        finally:
            self._server = None
            # Python 3.11's Server.close() leaves open connections alone: end them, so a page following an
            # SSE stream sees the server go (and reconnects to the next one) instead of a silent socket.
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            request = await asyncio.wait_for(_read_request(reader), READ_TIMEOUT_S)
            if isinstance(request, Response):
                await _write(writer, request)
                return
            answer = await self._answer(request)
            if isinstance(answer, EventStream):
                await self._stream(writer, answer)
            else:
                await _write(writer, answer)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away or never spoke: nothing to answer
        except asyncio.CancelledError:
            pass  # the server is stopping (a connection task is top-level: nothing waits for it)
        except Exception:
            log.exception("web: request failed")
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, request: Request) -> Response | EventStream:
        handler = self.routes.get((request.method, request.path))
        if handler is not None:
            try:
                return await handler(request)
            except (ValueError, UnicodeDecodeError) as exc:  # bad JSON or bad fields: say so, change nothing
                return Response.json({"error": str(exc)[:200]}, 400)
        if request.method == "GET" and self.static is not None and request.path.startswith("/static/"):
            return _static_file(self.static, request.path.removeprefix("/static/"))
        if any(path == request.path for _, path in self.routes):
            return Response.text("method not allowed", 405)
        return Response.text("not found", 404)

    async def _stream(self, writer: asyncio.StreamWriter, stream: EventStream) -> None:
        head = {"Content-Type": "text/event-stream; charset=utf-8", **SECURITY_HEADERS}
        writer.write(_head(200, head) + f"retry: {RECONNECT_MS}\n\n".encode())
        await writer.drain()
        self.streams += 1
        messages = stream.messages
        # The next message is awaited as a task that survives heartbeats (cancelling it would end the stream).
        pending: asyncio.Future[str] | None = None
        try:
            while True:
                pending = pending or asyncio.ensure_future(anext(messages))
                done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT_S)
                if not done:
                    writer.write(b": keep-alive\n\n")
                else:
                    message, pending = pending.result(), None
                    writer.write(b"".join(f"data: {line}\n".encode() for line in message.split("\n")) + b"\n")
                await writer.drain()
        except StopAsyncIteration:
            pass
        finally:
            self.streams -= 1
            if pending is not None:
                pending.cancel()
            with contextlib.suppress(Exception):
                await messages.aclose()  # type: ignore[attr-defined]


async def _read_request(reader: asyncio.StreamReader) -> Request | Response:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        return Response.text("request header too large", 413)
    if len(head) > MAX_HEADER_BYTES:
        return Response.text("request header too large", 413)
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        return Response.text("bad request line", 400)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        return Response.text("bad content-length", 400)
    if length < 0 or length > MAX_BODY_BYTES:
        return Response.text("body too large", 413)
    body = await reader.readexactly(length) if length else b""
    parts = urlsplit(target)
    return Request(method.upper(), unquote(parts.path), parse_qs(parts.query), headers, body)


def _static_file(root: Path, name: str) -> Response:
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():  # no escaping the static folder with ../
        return Response.text("not found", 404)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript", "image/svg+xml"):
        content_type += "; charset=utf-8"
    return Response(200, path.read_bytes(), content_type)


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join([*lines, "Connection: close", "", ""])).encode("latin-1")


async def _write(writer: asyncio.StreamWriter, response: Response) -> None:
    headers = {
        "Content-Type": response.content_type,
        "Content-Length": str(len(response.body)),
        **SECURITY_HEADERS,
        **response.headers,
    }
    writer.write(_head(response.status, headers) + response.body)
    await writer.drain()


class Subscribers:
    """Fan-out to the SSE clients. Each client has a bounded queue; one that falls behind gets its queue
    replaced by `resync()` (the full current picture) instead of an ever-growing backlog."""

    def __init__(self, resync: Callable[[], str], depth: int = 64) -> None:
        self._resync = resync
        self._depth = depth
        self._queues: set[asyncio.Queue[str]] = set()

    def __len__(self) -> int:
        return len(self._queues)

    def publish(self, message: str) -> None:
        for queue in self._queues:
            if queue.full():
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(self._resync())
            else:
                queue.put_nowait(message)

    async def follow(self) -> AsyncIterator[str]:
        """The messages one client receives: the current picture first, then every change."""
        queue: asyncio.Queue[str] = asyncio.Queue(self._depth)
        queue.put_nowait(self._resync())
        self._queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)
