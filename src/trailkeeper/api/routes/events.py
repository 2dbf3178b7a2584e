"""``/v1/events``, ``/v1/facets``, ``/v1/runs``: ingest and read the log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from trailkeeper.api.deps import Bearer, Filters, Reader, Service
from trailkeeper.api.ingestpath import ingest_outcome, receipts_response
from trailkeeper.api.openapi import INGEST_BODY, errors
from trailkeeper.api.responses import JSON
from trailkeeper.api.schemas import EventPage, EventWithProof, FacetPage, Receipts, RunEvents
from trailkeeper.errors import InvalidRequest
from trailkeeper.formats import FORMATS
from trailkeeper.service import Trailkeeper

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["events"])

# Bounds documented, checked by the service (its message names the range).
Limit = Annotated[
    int, Query(description="Page size, 1 to 999", json_schema_extra={"minimum": 1, "maximum": 999})
]
_FILE = {"schema": {"type": "string"}}
_DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, streamed, as an attachment",
        "content": {"text/csv": _FILE, "application/x-ndjson": _FILE},
    },
}
_INGEST_EXAMPLE = {
    "action": "card.moved",
    "occurred_at": "2026-11-20T13:45:12.123Z",
    "actor": {"id": "u_123", "name": "Ana Souza", "email": "ana@example.com"},
    "resource": {"type": "pipe", "id": "87654321", "name": "HR onboarding"},
    "changes": [{"field": "phase", "old": "Backlog", "new": "Approved"}],
}


@router.post(
    "/events",
    status_code=201,
    summary="Ingest one event or a batch of up to 1,000",
    response_model=Receipts,
    responses=errors(409),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": INGEST_BODY,
                    "example": {"events": [_INGEST_EXAMPLE]},
                }
            },
        }
    },
)
async def ingest(request: Request, _: Bearer) -> JSON:
    """All or nothing: if any event is invalid nothing is stored and `details` lists every
    problem with its index and field. The answer is sent once the events are durable.
    Sending an `id` again with the same content returns the original receipt; with other
    content it is a 409. Scope `events:write`."""
    service: Trailkeeper = request.app.state.trailkeeper
    body = await request.body()
    header = request.headers.get("authorization")
    principal = service.tenancy.remembered(header)
    if principal is None:  # the first request with this token: read it (blocking)
        principal = await run_in_threadpool(service.tenancy.authenticate, header)
    encoding = request.headers.get("content-encoding")
    rate, outcome = await ingest_outcome(request.app, principal, body, encoding)
    if rate is not None:
        request.state.rate = rate
    if isinstance(outcome, Exception):
        raise outcome
    return receipts_response(request.app.state.metrics, outcome)


@router.get(
    "/events",
    summary="List events, newest first, with filters and a cursor",
    response_model=EventPage,
)
def list_events(
    request: Request,
    principal: Reader,
    service: Service,
    query: Filters,
    limit: Limit = 100,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> JSON:
    """Filters repeat (OR within a name, AND across names). Results are in `seq` order; with
    `order=asc` the last page still has a `next_cursor`, which returns only newer events
    later. A `Link: <…>; rel="next"` header comes with `has_more`. Scope `audit-log:list`."""
    page = service.reads.page(principal.tenant, query, cursor, limit)
    headers = {}
    if page.has_more and page.next_cursor is not None:
        url = _public(request, str(request.url.include_query_params(cursor=page.next_cursor)))
        headers["Link"] = f'<{url}>; rel="next"'
    return JSON(
        {"data": page.data, "next_cursor": page.next_cursor, "has_more": page.has_more},
        headers=headers,
    )


@router.get(
    "/events/download",
    summary="The filtered events as a CSV or JSONL file",
    response_class=StreamingResponse,
    responses=_DOWNLOAD,
)
def download(
    principal: Reader,
    service: Service,
    query: Filters,
    format: Annotated[
        str,
        Query(
            description="csv or jsonl (any case)",
            json_schema_extra={"enum": ["csv", "jsonl"]},
        ),
    ] = "jsonl",
) -> StreamingResponse:
    """At most 100,000 events (more is a 400 pointing to `POST /v1/exports`); the file is
    streamed, never held whole. Scope `audit-log:list`."""
    format = format.lower()  # enumerated values are case-insensitive everywhere
    writer = FORMATS.get(format)
    if writer is None:
        raise InvalidRequest("'format' must be csv or jsonl")
    events = service.reads.download(principal.tenant, query)
    filename = f"trailkeeper-{principal.tenant.name}-events.{format}"
    return StreamingResponse(
        writer.chunks(events, include_salt=False),
        media_type=writer.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/events/{event_id}",
    summary="One event by id, optionally with its inclusion proof",
    response_model=EventWithProof,
    responses=errors(404),
)
def get_event(
    principal: Reader,
    service: Service,
    event_id: Annotated[str, Path(max_length=128)],
    proof: Annotated[
        bool, Query(description="Add an inclusion proof against the latest checkpoint")
    ] = False,
) -> JSON:
    """Another tenant's event is a 404 too. Scope `audit-log:list`."""
    view = service.reads.event(principal.tenant, event_id)
    if proof:
        view["proof"] = service.integrity.event_proof(principal.tenant.id, view)
    return JSON(view)


@router.get(
    "/facets/{name}",
    summary="Distinct values with counts, for pickers",
    response_model=FacetPage,
    responses=errors(404),
)
def facets(
    principal: Reader,
    service: Service,
    query: Filters,
    name: Annotated[str, Path(description="actor, action, category, source or resource")],
    limit: Limit = 100,
) -> JSON:
    """The most frequent values among the events the filters match; an unknown facet name
    is a 404. Scope `audit-log:list`."""
    return JSON({"facet": name, "data": service.reads.facet(principal.tenant, name, query, limit)})


@router.get(
    "/runs/{run_id}",
    summary="The events of one workflow run, in order",
    response_model=RunEvents,
    responses=errors(404),
)
def run(
    principal: Reader,
    service: Service,
    run_id: Annotated[str, Path(max_length=256)],
) -> JSON:
    """The events whose `run.id` is `run_id`, in `seq` order, at most 10,000. Scope
    `audit-log:list`."""
    events, truncated = service.reads.run(principal.tenant, run_id)
    return JSON({"run_id": run_id, "data": events, "truncated": truncated})


def _public(request: Request, url: str) -> str:
    service: Trailkeeper = request.app.state.trailkeeper
    base = service.settings.public_url
    if not base:
        return url
    origin = f"{request.url.scheme}://{request.url.netloc}"
    return base.rstrip("/") + url.removeprefix(origin)
