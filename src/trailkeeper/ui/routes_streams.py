"""The streams page: each stream's health (status, cursor, lag, last error) and its
pause / resume / test actions, through the same stream use cases as ``/v1/streams``
(scope ``streams:manage``, as there)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from trailkeeper.auth.tokens import Scope
from trailkeeper.errors import Forbidden
from trailkeeper.service.sessions import UiSession
from trailkeeper.storage.streamsql import StreamStatus
from trailkeeper.ui.auth import check_csrf, client_ip, current, service_of
from trailkeeper.ui.rendering import render
from trailkeeper.ui.views import destination

__all__ = ["routes"]

_NEEDS = "This token lacks the 'streams:manage' scope"


def _allowed(session: UiSession) -> None:
    if not session.allows(Scope.STREAMS_MANAGE):
        raise Forbidden(_NEEDS)


async def _page(request: Request, session: UiSession, tested: Any = None) -> Response:
    streams = await run_in_threadpool(service_of(request).streams.list, session.principal.tenant)
    for stream in streams:
        stream["destination"] = destination(stream["type"], stream["config"])
    return render(request, "streams.html", streams=streams, tested=tested)


async def streams_page(request: Request) -> Response:
    session = await current(request)
    _allowed(session)
    return await _page(request, session)


async def _action(request: Request) -> tuple[UiSession, str]:
    """The signed-in session of a stream form (its CSRF token checked) and the stream."""
    session = await current(request)
    check_csrf(request, await request.form(), session.id)
    _allowed(session)
    return session, request.path_params["stream_id"]


async def _set_status(request: Request, status: StreamStatus) -> Response:
    session, stream_id = await _action(request)
    await run_in_threadpool(
        lambda: service_of(request).streams.set_status(
            session.principal.tenant,
            stream_id,
            status,
            session.principal.actor,
            source="web",
            ip=client_ip(request),
        )
    )
    return RedirectResponse("/streams", status_code=303)


async def pause(request: Request) -> Response:
    return await _set_status(request, "paused")


async def resume(request: Request) -> Response:
    """Active again; a failing stream is retried at once."""
    return await _set_status(request, "active")


async def test(request: Request) -> Response:
    """Send the test event now and show its outcome on the page (not a redirect: the
    outcome, maybe the destination's error, is not kept anywhere else)."""
    session, stream_id = await _action(request)
    outcome = await run_in_threadpool(
        lambda: service_of(request).streams.test(
            session.principal.tenant,
            stream_id,
            session.principal.actor,
            source="web",
            ip=client_ip(request),
        )
    )
    return await _page(request, session, tested={"id": stream_id, **outcome})


routes = [
    Route("/streams", streams_page, methods=["GET"]),
    Route("/streams/{stream_id}/pause", pause, methods=["POST"]),
    Route("/streams/{stream_id}/resume", resume, methods=["POST"]),
    Route("/streams/{stream_id}/test", test, methods=["POST"]),
]
