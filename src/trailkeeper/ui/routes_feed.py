"""The feed: filtered pages of events, pickers, one event expanded, CSV of the view."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from trailkeeper.api.deps import base_url
from trailkeeper.auth.tokens import Scope
from trailkeeper.errors import Forbidden, InvalidRequest, TrailkeeperError
from trailkeeper.formats import FORMATS
from trailkeeper.service.reading import Page
from trailkeeper.ui.auth import current, service_of
from trailkeeper.ui.filters import PAGE_SIZE, read_filters
from trailkeeper.ui.rendering import FRAGMENT_HEADER, is_fragment, render
from trailkeeper.ui.views import change_rows, pretty_json

__all__ = ["routes"]

_PICKERS = {"actor": "actor", "action": "action", "resource": "resource_type"}


async def feed(request: Request) -> Response:
    session = await current(request)
    filters = read_filters(request)
    page = Page([], None, False)
    status = 200
    if filters.query is not None:
        try:
            page = await run_in_threadpool(
                service_of(request).reads.page,
                session.principal.tenant,
                filters.query,
                filters.cursor,
                PAGE_SIZE,
            )
        except TrailkeeperError as exc:
            if exc.status != 400:  # a bad cursor is the URL's fault, shown like a bad filter
                raise
            filters.error = exc.message
    if filters.error is not None:
        status = 400
    template = "feed.html"
    if is_fragment(request):
        mode = request.headers.get(FRAGMENT_HEADER)
        template = "_page.html" if mode == "rows" else "_results.html"
    return render(
        request,
        template,
        status,
        filters=filters,
        page=page,
        can_export=session.allows(Scope.AUDIT_LOG_EXPORT),
        base_url=base_url(request),
    )


async def picker(request: Request) -> Response:
    """The values of one facet for a picker, counted over the other filters."""
    session = await current(request)
    name = request.path_params["name"]
    if name not in _PICKERS:
        return render(request, "_error.html", 404, error=f"No picker {name[:32]!r}")
    filters = read_filters(request)
    try:
        query = filters.without(_PICKERS[name])
        if query is None:
            raise InvalidRequest(filters.error or "Bad filters")
        values = await run_in_threadpool(
            service_of(request).reads.facet, session.principal.tenant, name, query, 100
        )
    except InvalidRequest as exc:
        return render(request, "_error.html", 400, error=exc.message)
    key = "id" if name == "actor" else "value"
    offered = {str(v.get(key)) for v in values}
    return render(
        request, "_picker.html", name=name, values=values, filters=filters, offered=offered
    )


async def event(request: Request) -> Response:
    session = await current(request)
    service = service_of(request)
    view = await run_in_threadpool(
        service.reads.event, session.principal.tenant, request.path_params["event_id"]
    )
    template = "_event.html" if is_fragment(request) else "event.html"
    return render(
        request,
        template,
        event=view,
        changes=change_rows(view.get("changes")),
        metadata=None if view.get("metadata") is None else pretty_json(view["metadata"]),
    )


async def proof(request: Request) -> Response:
    session = await current(request)
    service = service_of(request)
    tenant = session.principal.tenant
    view = await run_in_threadpool(service.reads.event, tenant, request.path_params["event_id"])
    found = await run_in_threadpool(service.integrity.event_proof, tenant.id, view)
    return render(
        request,
        "proof.html",
        event=view,
        proof=None if found is None else pretty_json(found),
        verifier_key=service.integrity.verifier_key,
    )


async def csv_download(request: Request) -> Response:
    """The filtered view as CSV: the very file ``GET /v1/events/download?format=csv`` gives."""
    session = await current(request)
    if not session.allows(Scope.AUDIT_LOG_EXPORT):
        raise Forbidden("This token lacks the 'audit-log:export' scope")
    filters = read_filters(request)
    if filters.query is None:
        raise InvalidRequest(filters.error or "Bad filters")
    tenant = session.principal.tenant
    events = await run_in_threadpool(service_of(request).reads.download, tenant, filters.query)
    writer = FORMATS["csv"]
    name = f"trailkeeper-{tenant.name}-events.csv"
    return StreamingResponse(
        writer.chunks(events, include_salt=False),
        media_type=writer.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


routes = [
    Route("/", feed, methods=["GET"]),
    Route("/pickers/{name}", picker, methods=["GET"]),
    Route("/events.csv", csv_download, methods=["GET"]),
    Route("/events/{event_id}", event, methods=["GET"]),
    Route("/events/{event_id}/proof", proof, methods=["GET"]),
]
