"""The small HTTP server behind both screens answers bad requests plainly and never serves outside its folder."""

from __future__ import annotations

import asyncio

from edge.web.http import MAX_BODY_BYTES, Response, WebServer


async def exchange(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


def serve_and_ask(raws: list[bytes], tmp_path) -> list[str]:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "page.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("not for you")

    async def hello(request):
        return Response.json({"hello": request.json()["name"]})

    async def scenario() -> list[str]:
        server = WebServer({("POST", "/hello"): hello}, static=tmp_path / "static")
        ports: list[int] = []
        task = asyncio.create_task(server.serve("127.0.0.1", 0, ports.append))
        while not ports:
            await asyncio.sleep(0.01)
        answers = [(await exchange(ports[0], raw)).decode("latin-1") for raw in raws]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return answers

    return asyncio.run(scenario())


def test_bad_requests_get_a_plain_status_and_change_nothing(tmp_path):
    too_big = MAX_BODY_BYTES + 1
    answers = serve_and_ask(
        [
            b"NONSENSE\r\n\r\n",
            b"GET /nowhere HTTP/1.1\r\n\r\n",
            b"GET /hello HTTP/1.1\r\n\r\n",
            f"POST /hello HTTP/1.1\r\nContent-Length: {too_big}\r\n\r\n".encode(),
            b"POST /hello HTTP/1.1\r\nContent-Length: 5\r\n\r\n{oops",
            b'POST /hello HTTP/1.1\r\nContent-Length: 16\r\n\r\n{"name": "gate"}',
            b"GET /static/page.css HTTP/1.1\r\n\r\n",
            b"GET /static/../secret.txt HTTP/1.1\r\n\r\n",
            b"GET /static/%2e%2e/secret.txt HTTP/1.1\r\n\r\n",
        ],
        tmp_path,
    )
    statuses = [answer.split("\r\n", 1)[0] for answer in answers]
    assert statuses == [
        "HTTP/1.1 400 Bad Request",
        "HTTP/1.1 404 Not Found",
        "HTTP/1.1 405 Method Not Allowed",
        "HTTP/1.1 413 Payload Too Large",
        "HTTP/1.1 400 Bad Request",
        "HTTP/1.1 200 OK",
        "HTTP/1.1 200 OK",
        "HTTP/1.1 404 Not Found",
        "HTTP/1.1 404 Not Found",
    ]
    assert answers[5].endswith('{"hello":"gate"}')
    assert "Content-Security-Policy: default-src 'self'" in answers[6]
    assert all("not for you" not in answer for answer in answers)
