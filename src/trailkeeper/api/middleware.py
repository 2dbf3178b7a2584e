"""Pure ASGI middleware: body size limit, rate-limit headers, metrics.

Pure ASGI (not ``BaseHTTPMiddleware``) so that streamed responses stay streamed."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trailkeeper.api.errors import envelope
from trailkeeper.errors import PayloadTooLarge
from trailkeeper.metrics import Metrics
from trailkeeper.ratelimit import RateState

__all__ = ["BodyLimit", "ResponseHeaders"]


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413 before reading them whole.

    A declared ``Content-Length`` over the limit is refused at once; a chunked
    body is counted as it arrives and refused as soon as it passes the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            response = envelope(413, "payload_too_large", self._message())
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise PayloadTooLarge(self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        size = (
            f"{self.limit / (1024 * 1024):g} MiB"
            if self.limit >= 1024 * 1024
            else (f"{self.limit:,} bytes")
        )
        return (
            f"The request body is larger than {size}: the events are too big together. "
            "Send fewer events per request (each event is at most 64 KiB), or compress "
            "the body with Content-Encoding: gzip"
        )


class ResponseHeaders:
    """Adds rate-limit headers (set by the auth dependency) and records metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                rate: RateState | None = state.get("rate")
                if rate is not None:
                    headers = list(message.get("headers", []))
                    existing = {k.lower() for k, _ in headers}
                    for name, value in rate.headers().items():
                        if name.lower().encode() not in existing:
                            headers.append((name.encode(), value.encode()))
                    message["headers"] = headers
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                self.metrics.observe_request(
                    scope["method"], path, message["status"], time.perf_counter() - started
                )
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None
