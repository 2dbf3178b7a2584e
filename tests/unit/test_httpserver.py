"""``serve``'s HTTP protocol sends the bytes uvicorn's own sends, fewer times."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from trailkeeper.api.httpserver import TrailkeeperHttp, _Joined


async def _json(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"events": [{"id": "e1", "seq": 1}], "size": len(body)}, status_code=201)


async def _stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            yield f"chunk {n}\n".encode()
            await asyncio.sleep(0)

    return StreamingResponse(chunks(), media_type="text/plain")


async def _close(request: Request) -> Response:
    return Response(b"bye", headers={"Connection": "close"})


async def _fail(request: Request) -> Response:
    raise RuntimeError("boom")


_APP = Starlette(
    routes=[
        Route("/json", _json, methods=["POST"]),
        Route("/stream", _stream),
        Route("/close", _close),
        Route("/fail", _fail),
    ]
)


@contextmanager
def _server(protocol: type[HttpToolsProtocol]) -> Iterator[int]:
    config = uvicorn.Config(
        _APP, host="127.0.0.1", port=0, http=protocol, log_level="critical", date_header=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        assert thread.is_alive(), "server did not start"
        time.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)


_REQUESTS = (
    b"POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
    b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"
    b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n"
    b"GET /fail HTTP/1.1\r\nHost: t\r\n\r\n"
)


def _exchange(port: int, requests: bytes) -> bytes:
    """Everything the server answers on one connection until it closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(requests)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(
    "requests",
    [
        _REQUESTS + b"GET /close HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /close HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /stream HTTP/1.0\r\n\r\n",
        b"POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        b"NOT HTTP\r\n\r\n",
    ],
)
def test_same_bytes_as_uvicorns_protocol(requests: bytes) -> None:
    with _server(HttpToolsProtocol) as port:
        expected = _exchange(port, requests)
    with _server(TrailkeeperHttp) as port:
        assert _exchange(port, requests) == expected
    assert expected


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return f"info {name}"


def test_writes_of_one_pass_go_out_together() -> None:
    loop = asyncio.new_event_loop()
    try:
        transport = _Transport()
        joined = _Joined(transport, loop)  # type: ignore[arg-type]
        joined.write(b"head ")
        assert transport.writes == []
        joined.write(b"body")  # the held write goes with the next one
        assert transport.writes == [b"head body"]
        joined.write(b"more")
        joined.flush()  # the response completed
        assert transport.writes == [b"head body", b"more"]
        joined.write(b"chunk 1")
        loop.run_until_complete(asyncio.sleep(0))  # a streamed body: at the next pass
        assert transport.writes == [b"head body", b"more", b"chunk 1"]
        joined.write(b"last")
        joined.close()
        assert transport.writes == [b"head body", b"more", b"chunk 1", b"last"]
        assert transport.closed
        joined.write(b"after close")
        loop.run_until_complete(asyncio.sleep(0))
        assert transport.writes[-1] == b"last"
        assert joined.get_extra_info("peername") == "info peername"
    finally:
        loop.close()
