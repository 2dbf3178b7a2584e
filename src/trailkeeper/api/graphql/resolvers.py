"""The root fields' resolvers: GraphQL arguments in, thin calls into the same
services REST uses.

Service calls block (database, object store), so they run in the thread pool,
never on the event loop."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import strawberry
from starlette.concurrency import run_in_threadpool

from trailkeeper.api.graphql.context import Context
from trailkeeper.api.graphql.inputs import AuditLogFilter, ExportInput
from trailkeeper.api.graphql.types import (
    AuditEvent,
    AuditLogConnection,
    AuditLogEdge,
    Export,
    ExportPipeAuditLogsReportPayload,
    PageInfo,
)
from trailkeeper.auth.tokens import Scope
from trailkeeper.errors import InvalidRequest
from trailkeeper.events.query import EventQuery
from trailkeeper.service import Trailkeeper
from trailkeeper.service.reading import MAX_LIMIT
from trailkeeper.storage.tenants import Tenant

__all__ = [
    "PIPEFY_PERMISSION_DENIED",
    "audit_logs",
    "export",
    "export_audit_logs",
    "export_pipe_audit_logs_report",
]

# Pipefy's own wording, so that clients written against Pipefy recognise it.
PIPEFY_PERMISSION_DENIED = "You don't have permission to perform this action"
MAX_CURSOR_LENGTH = 512
MAX_EXPORT_ID_LENGTH = 64
Info = strawberry.Info[Context, None]


def _edge_cursor(service: Trailkeeper, tenant: Tenant, query: EventQuery, seq: int) -> str:
    """A cursor that resumes right after ``seq``: the same codec as ``next_cursor``.

    ``ReadService`` hands out only the last cursor of a page; Relay wants one per edge."""
    return service.reads.cursor_at(tenant, query, seq)


async def audit_logs(
    info: Info,
    filter: AuditLogFilter | None = None,
    first: Annotated[int, strawberry.argument(description="Page size, 1 to 999")] = 100,
    after: Annotated[
        str | None, strawberry.argument(description="An edge's cursor or endCursor, same filter")
    ] = None,
) -> AuditLogConnection | None:
    context = info.context
    principal = context.require(Scope.AUDIT_LOG_LIST)
    if not 1 <= first <= MAX_LIMIT:
        raise InvalidRequest(f"'first' must be between 1 and {MAX_LIMIT}")
    if after is not None and len(after) > MAX_CURSOR_LENGTH:
        raise InvalidRequest("'after' is not a cursor; pass an edge's cursor or endCursor")
    query = (filter or AuditLogFilter()).query()
    context.reserve_events(first)
    service = context.service
    page = await run_in_threadpool(service.reads.page, principal.tenant, query, after, first)
    edges = [
        AuditLogEdge(
            cursor=_edge_cursor(service, principal.tenant, query, view["seq"]),
            node=AuditEvent.from_view(view),
        )
        for view in page.data
    ]
    page_info = PageInfo(
        has_next_page=page.has_more,
        has_previous_page=False,
        start_cursor=edges[0].cursor if edges else None,
        # An empty page in ASC order still resumes where polling left off.
        end_cursor=edges[-1].cursor if edges else page.next_cursor,
    )
    return AuditLogConnection(edges=edges, page_info=page_info)


async def _request_export(
    context: Context, body: dict[str, Any], forbidden: str | None = None
) -> dict[str, Any]:
    principal = context.require(Scope.AUDIT_LOG_EXPORT, forbidden)
    request = partial(
        context.service.exports.request, principal, body, context.base_url, ip=context.ip
    )
    view: dict[str, Any] = await run_in_threadpool(request)
    return view


async def export_audit_logs(info: Info, input: ExportInput) -> Export | None:
    return Export.from_view(await _request_export(info.context, input.body()))


async def export(info: Info, id: strawberry.ID) -> Export | None:
    context = info.context
    principal = context.require(Scope.AUDIT_LOG_EXPORT)
    if not id or len(id) > MAX_EXPORT_ID_LENGTH:
        raise InvalidRequest("'id' must be an export id (exp_…)")
    get = context.service.exports.get
    view = await run_in_threadpool(get, principal.tenant, str(id), context.base_url)
    return Export.from_view(view)


async def export_pipe_audit_logs_report(
    info: Info, pipe_uuid: strawberry.ID, search_term: str | None = None
) -> ExportPipeAuditLogsReportPayload | None:
    """Pipefy's mutation: a CSV of the pipe's last complete days (the default window),
    of actors whose name or email contains ``search_term``."""
    body: dict[str, Any] = {"format": "csv", "resource": {"type": "pipe", "id": str(pipe_uuid)}}
    if search_term:
        body["filters"] = {"q": search_term}
    view = await _request_export(info.context, body, PIPEFY_PERMISSION_DENIED)
    return ExportPipeAuditLogsReportPayload(success=True, export=Export.from_view(view))
