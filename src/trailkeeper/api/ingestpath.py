"""``POST /v1/events``: what a request costs between its body and the ingest queue, and a
short way in for the requests that need nothing else of the framework.

A single-event request's own work (check the token's scope, validate one event, hand it to
the ingest queue) is small; the framework's routing, exception wrapping, dependency
solving and response building around it cost about three times as much, on the one thread
that also parses every request and answers every response (docs/benchmarks.md, "Measured
reasons in the code"). :class:`IngestShortcut`
sits in front of the router and answers ``POST /v1/events`` itself when the request has
nothing that needs the framework: no query string (the app-wide query rule), no
``Content-Encoding`` (inflated in a worker thread), a declared length of at most
:data:`INLINE_BYTES`, and a token this process has already authenticated (a first request
is read from the database in a worker thread). Everything else goes on to the route, which
runs the same :func:`ingest_outcome` and :func:`receipts_response`: the two ways differ in
their framing only, and an error is answered by the app's own exception handlers (an
unhandled one is raised to the server-error layer, as from the route).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from trailkeeper.api.admission import InFlight
from trailkeeper.api.encoding import inflate
from trailkeeper.api.ingestq import IngestQueue, Outcome
from trailkeeper.api.responses import JSON
from trailkeeper.auth.tokens import Principal
from trailkeeper.auth.tokens import Scope as TokenScope
from trailkeeper.errors import Forbidden, TrailkeeperError
from trailkeeper.events.batch import drafts_from_body
from trailkeeper.events.record import Draft
from trailkeeper.metrics import Metrics
from trailkeeper.service import Trailkeeper
from trailkeeper.storage.protocols import Receipt

__all__ = ["INGEST_PATH", "INLINE_BYTES", "IngestShortcut", "ingest_outcome", "receipts_response"]

INGEST_PATH = "/v1/events"
INLINE_BYTES = 16 * 1024
"""Bodies up to this size are validated on the event loop (cheaper than a thread hop); larger ones,
and compressed ones, in a worker thread so that the loop keeps answering meanwhile."""


async def ingest_outcome(
    app: FastAPI, principal: Principal, body: bytes, encoding: str | None
) -> Outcome:
    """Check the scope, validate ``body`` and store it through the ingest queue: the
    request's rate-limit state and its receipts, or the exception that refuses it."""
    queue: IngestQueue = app.state.ingest_queue
    if not principal.allows(TokenScope.EVENTS_WRITE):
        error = Forbidden(f"This token lacks the '{TokenScope.EVENTS_WRITE.value}' scope")
        return await queue.submit(principal, None, error)
    inflight: InFlight = app.state.ingest_inflight
    with inflight.admit(len(body)):
        drafts: list[Draft] | None = None
        failure: Exception | None = None
        try:
            if encoding is None and len(body) <= INLINE_BYTES:
                drafts = drafts_from_body(body)  # small: cheaper here than a thread hop
            else:
                service: Trailkeeper = app.state.trailkeeper
                drafts = await run_in_threadpool(_drafts, service, body, encoding)
        except TrailkeeperError as exc:
            failure = exc
        return await queue.submit(principal, drafts, failure)


def _drafts(service: Trailkeeper, body: bytes, encoding: str | None) -> list[Draft]:
    if encoding is not None:
        body = inflate(body, encoding, service.settings.max_body_bytes)
    return drafts_from_body(body)


def receipts_response(metrics: Metrics, receipts: list[Receipt]) -> JSON:
    """``201`` with the receipts in request order."""
    metrics.events_ingested.inc(len(receipts))
    return JSON(
        {"events": [{"id": r.id, "seq": r.seq, "leaf_hash": r.leaf_hash} for r in receipts]},
        status_code=201,
    )


class IngestShortcut:
    """ASGI middleware: answers the plain ``POST /v1/events`` requests itself (see the
    module's text); ``handled`` counts them."""

    def __init__(self, app: ASGIApp, api: FastAPI, route: Any) -> None:
        self.app = app
        self.api = api
        self.route = route  # the route's metrics label and ``scope["route"]``
        self.service: Trailkeeper = api.state.trailkeeper
        self.handled = 0
        api.state.ingest_shortcut = self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = self._principal(scope)
        if principal is None:
            await self.app(scope, receive, send)
            return
        self.handled += 1
        scope["route"] = self.route
        request = Request(scope, receive)
        try:
            rate, outcome = await ingest_outcome(self.api, principal, await request.body(), None)
            if rate is not None:
                request.state.rate = rate
            if isinstance(outcome, Exception):
                raise outcome
            response = receipts_response(self.api.state.metrics, outcome)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise  # to the server-error layer, as an error of the route would go
            response = await handler(request, exc)
        await response(scope, receive, send)

    def _principal(self, scope: Scope) -> Principal | None:
        """The remembered caller of a request this way may answer, else ``None``."""
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != INGEST_PATH
            or scope.get("root_path")
            or scope["query_string"]
        ):
            return None
        authorization: bytes | None = None
        length: bytes | None = None
        for name, value in scope["headers"]:  # the first of each, as the route reads them
            if name == b"authorization":
                authorization = value if authorization is None else authorization
            elif name == b"content-length":
                length = value if length is None else length
            elif name in (b"content-encoding", b"transfer-encoding"):
                return None
        if authorization is None or length is None or not length.isdigit():
            return None
        if int(length) > INLINE_BYTES:
            return None
        return self.service.tenancy.remembered(authorization.decode("latin-1"))

    def _handler(self, exc: Exception) -> Any:
        """The app's handler for ``exc`` (by its class, most specific first), leaving out
        the catch-all one, which the server-error layer runs."""
        handlers = self.api.exception_handlers
        for kind in type(exc).__mro__:
            if kind is Exception:
                return None
            if kind in handlers:
                return handlers[kind]
        return None
