"""The schema: root fields, and the limits every request is checked against.

Depth, token and alias limits run at validation, before any resolver; the
events one request may read are budgeted in the context (``reserve_events``)."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from trailkeeper.api.graphql import resolvers
from trailkeeper.api.graphql.errors import ErrorCodes, log_unexpected
from trailkeeper.api.graphql.scalars import SCALARS
from trailkeeper.api.graphql.types import (
    AuditLogConnection,
    Export,
    ExportPipeAuditLogsReportPayload,
)

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_TOKENS", "Mutation", "Query", "schema"]

MAX_DEPTH = 8
MAX_TOKENS = 2_000
MAX_ALIASES = 10


@strawberry.type
class Query:
    audit_logs: AuditLogConnection | None = strawberry.field(
        resolver=resolvers.audit_logs,
        description="Audit events, newest first: the filters and cursors of GET /v1/events "
        "(scope audit-log:list)",
    )
    export: Export | None = strawberry.field(
        resolver=resolvers.export, description="One export by id (scope audit-log:export)"
    )


@strawberry.type
class Mutation:
    export_audit_logs: Export | None = strawberry.mutation(
        resolver=resolvers.export_audit_logs,
        description="Request an export file, as POST /v1/exports (scope audit-log:export)",
    )
    export_pipe_audit_logs_report: ExportPipeAuditLogsReportPayload | None = strawberry.mutation(
        resolver=resolvers.export_pipe_audit_logs_report,
        description="Pipefy-compatible: a CSV export of the pipe's last 30 complete days, of "
        "actors whose name or email contains searchTerm (scope audit-log:export)",
    )


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)


def _build() -> strawberry.Schema:
    extensions: list[Any] = [
        # Factories, not instances: strawberry builds fresh extensions per request.
        partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
        ErrorCodes,
    ]
    return _Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALARS),
    )


schema = _build()
