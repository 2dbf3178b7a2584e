"""``/v1/events``, ``/v1/facets``, ``/v1/runs``: ingest and read the log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from trailkeeper.api.admission import InFlight
from trailkeeper.api.deps import Bearer, Filters, Reader, Service, admit_caller
from trailkeeper.api.encoding import inflate
from trailkeeper.api.responses import JSON
from trailkeeper.auth.tokens import Scope
from trailkeeper.errors import InvalidRequest
from trailkeeper.formats import FORMATS
from trailkeeper.service import Trailkeeper
from trailkeeper.storage.protocols import Receipt

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["events"])

Limit = Annotated[int, Query(description="Page size, 1 to 999")]
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
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"example": {"events": [_INGEST_EXAMPLE]}}},
        }
    },
)
async def ingest(request: Request, _: Bearer) -> JSON:
    service: Trailkeeper = request.app.state.trailkeeper
    body = await request.body()
    # One hand-off to a worker thread for everything that blocks or takes CPU: the
    # token lookup, the rate-limit counter, inflating, validating and the commit.
    receipts = await run_in_threadpool(_ingest, service, request, body)
    request.app.state.metrics.events_ingested.inc(len(receipts))
    return JSON(
        {"events": [{"id": r.id, "seq": r.seq, "leaf_hash": r.leaf_hash} for r in receipts]},
        status_code=201,
    )


def _ingest(service: Trailkeeper, request: Request, body: bytes) -> list[Receipt]:
    principal = admit_caller(service, request, Scope.EVENTS_WRITE, "ingest")
    encoding = request.headers.get("content-encoding")
    if encoding is not None:
        body = inflate(body, encoding, service.settings.max_body_bytes)
    inflight: InFlight = request.app.state.ingest_inflight
    with inflight.admit(len(body)):
        return service.ingest_body(principal.tenant, body)


@router.get("/events", summary="List events, newest first, with filters and a cursor")
def list_events(
    request: Request,
    principal: Reader,
    service: Service,
    query: Filters,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JSON:
    page = service.reads.page(principal.tenant, query, cursor, limit)
    headers = {}
    if page.has_more and page.next_cursor is not None:
        url = _public(request, str(request.url.include_query_params(cursor=page.next_cursor)))
        headers["Link"] = f'<{url}>; rel="next"'
    return JSON(
        {"data": page.data, "next_cursor": page.next_cursor, "has_more": page.has_more},
        headers=headers,
    )


@router.get("/events/download", summary="The filtered events as a CSV or JSONL file")
def download(
    principal: Reader,
    service: Service,
    query: Filters,
    format: Annotated[str, Query(description="csv or jsonl")] = "jsonl",
) -> StreamingResponse:
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


@router.get("/events/{event_id}", summary="One event by id, optionally with its inclusion proof")
def get_event(
    principal: Reader,
    service: Service,
    event_id: Annotated[str, Path(max_length=128)],
    proof: Annotated[
        bool, Query(description="Add an inclusion proof against the latest checkpoint")
    ] = False,
) -> JSON:
    view = service.reads.event(principal.tenant, event_id)
    if proof:
        view["proof"] = service.integrity.event_proof(principal.tenant.id, view)
    return JSON(view)


@router.get("/facets/{name}", summary="Distinct values with counts, for pickers")
def facets(
    principal: Reader,
    service: Service,
    query: Filters,
    name: Annotated[str, Path(description="actor, action, category, source or resource")],
    limit: Limit = 100,
) -> JSON:
    return JSON({"facet": name, "data": service.reads.facet(principal.tenant, name, query, limit)})


@router.get("/runs/{run_id}", summary="The events of one workflow run, in order")
def run(
    principal: Reader,
    service: Service,
    run_id: Annotated[str, Path(max_length=256)],
) -> JSON:
    events, truncated = service.reads.run(principal.tenant, run_id)
    return JSON({"run_id": run_id, "data": events, "truncated": truncated})


def _public(request: Request, url: str) -> str:
    service: Trailkeeper = request.app.state.trailkeeper
    base = service.settings.public_url
    if not base:
        return url
    origin = f"{request.url.scheme}://{request.url.netloc}"
    return base.rstrip("/") + url.removeprefix(origin)
