"""Input types: the list filters of ``GET /v1/events`` and the body of ``POST /v1/exports``.

They only translate GraphQL arguments into the parameters the REST layer hands
the service, so both interfaces validate through the same code."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from trailkeeper.api.graphql.types import ExportCompression, ExportFormat
from trailkeeper.events.query import FILTER_NAMES, EventQuery

__all__ = ["AuditLogFilter", "ExportFilter", "ExportInput", "ResourceInput", "SortOrder"]

Values = list[str] | None


@strawberry.enum(description="DESC: newest first (the default); ASC: oldest first")
class SortOrder(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="OR within a filter's values, AND across filters")
class ExportFilter:
    actor: Values = strawberry.field(default=None, description="Actor id or exact email")
    action: Values = strawberry.field(default=None, description="Exact, or a prefix as card.*")
    category: Values = None
    source: Values = None
    resource_type: Values = None
    resource_id: Values = None
    run_id: Values = None
    ip: Values = None
    q: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the actor's name or email"
    )

    def params(self) -> dict[str, list[str]]:
        """The filters as REST query parameters (snake_case names, lists of values)."""
        params = {name: list(values) for name in FILTER_NAMES if (values := getattr(self, name))}
        if self.q is not None:
            params["q"] = [self.q]
        return params


@strawberry.input(description="The filters of GET /v1/events")
class AuditLogFilter(ExportFilter):
    start: str | None = strawberry.field(
        default=None, description="RFC 3339, or YYYY-MM-DD meaning the whole UTC day"
    )
    end: str | None = strawberry.field(
        default=None, description="RFC 3339, or YYYY-MM-DD (inclusive)"
    )
    order: SortOrder = SortOrder.DESC

    def query(self) -> EventQuery:
        params = self.params()
        for name in ("start", "end"):
            if (value := getattr(self, name)) is not None:
                params[name] = [value]
        params["order"] = [self.order.value]
        return EventQuery.from_params(params)


@strawberry.input(description="A resource: a pipe, a flow, a repository…")
class ResourceInput:
    type: str
    id: strawberry.ID


@strawberry.input(description="The body of POST /v1/exports")
class ExportInput:
    format: ExportFormat
    compression: ExportCompression = ExportCompression.NONE
    start: str | None = strawberry.field(
        default=None, description="First UTC day (YYYY-MM-DD); default: 30 days before end"
    )
    end: str | None = strawberry.field(
        default=None, description="Last UTC day (YYYY-MM-DD), inclusive; default: yesterday"
    )
    resource: ResourceInput | None = strawberry.field(
        default=None, description="Omitted: the whole tenant"
    )
    filters: ExportFilter | None = None
    webhook_url: str | None = strawberry.field(
        default=None, description="Receives export.succeeded / export.failed, signed"
    )

    def body(self) -> dict[str, Any]:
        """The JSON body ``POST /v1/exports`` would receive."""
        body: dict[str, Any] = {"format": self.format.value, "compression": self.compression.value}
        for name in ("start", "end", "webhook_url"):
            if (value := getattr(self, name)) is not None:
                body[name] = value
        if self.resource is not None:
            body["resource"] = {"type": self.resource.type, "id": str(self.resource.id)}
        if self.filters is not None:
            params = self.filters.params()
            q = params.pop("q", None)
            body["filters"] = {**params, **({"q": q[0]} if q else {})}
        return body
