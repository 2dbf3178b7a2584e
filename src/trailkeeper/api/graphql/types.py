"""Output types: the event, its Relay connection, and the export object.

Each mirrors the REST JSON field for field (camelCase names); nested, free-form
parts (``changes``, ``run``, ``metadata``, export ``filters``) are ``JSON``."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from trailkeeper.api.graphql.scalars import Long

__all__ = [
    "AuditActor",
    "AuditEvent",
    "AuditLogConnection",
    "AuditLogEdge",
    "AuditResource",
    "Export",
    "ExportCompression",
    "ExportFormat",
    "ExportPipeAuditLogsReportPayload",
    "ExportResource",
    "ExportStatus",
    "PageInfo",
]


@strawberry.enum(description="File format of an export")
class ExportFormat(Enum):
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


@strawberry.enum(description="Compression of an export file (JSONL and CSV only)")
class ExportCompression(Enum):
    NONE = "none"
    GZIP = "gzip"


@strawberry.enum(description="Where an export job is")
class ExportStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@strawberry.type(description="Who did it: a user, a service account, an automation…")
class AuditActor:
    id: str
    type: str
    name: str | None
    email: str | None


@strawberry.type(description="What the event is about: a pipe, a flow, a repository…")
class AuditResource:
    type: str
    id: str
    name: str | None


@strawberry.type(description="One audit event, as GET /v1/events returns it")
class AuditEvent:
    id: strawberry.ID
    seq: Long = strawberry.field(description="0-based position in the tenant's log")
    action: str
    category: str
    occurred_at: str = strawberry.field(description="UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ")
    received_at: str = strawberry.field(description="When trailkeeper stored it (UTC)")
    actor: AuditActor
    resource: AuditResource | None
    source: str
    ip: str | None
    user_agent: str | None
    changes: JSON | None = strawberry.field(description="List of {field, old, new}")
    run: JSON | None = strawberry.field(description="The workflow run and step, if any")
    metadata: JSON | None
    pii: str = strawberry.field(description="Commitment to the personal data (section 8)")
    leaf_hash: str = strawberry.field(description="The event's Merkle leaf hash, hex")

    @classmethod
    def from_view(cls, view: Mapping[str, Any]) -> AuditEvent:
        actor = view["actor"]
        resource = view.get("resource")
        return cls(
            id=strawberry.ID(view["id"]),
            seq=Long(view["seq"]),
            action=view["action"],
            category=view["category"],
            occurred_at=view["occurred_at"],
            received_at=view["received_at"],
            actor=AuditActor(
                id=actor["id"], type=actor["type"], name=actor.get("name"), email=actor.get("email")
            ),
            resource=None
            if resource is None
            else AuditResource(type=resource["type"], id=resource["id"], name=resource.get("name")),
            source=view["source"],
            ip=view.get("ip"),
            user_agent=view.get("user_agent"),
            changes=view.get("changes"),
            run=view.get("run"),
            metadata=view.get("metadata"),
            pii=view["pii"],
            leaf_hash=view["leaf_hash"],
        )


@strawberry.type(description="An event and the cursor that resumes right after it")
class AuditLogEdge:
    cursor: str
    node: AuditEvent


@strawberry.type(description="Relay page info; paging is forward only (first/after)")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(description="Always false: forward paging only")
    start_cursor: str | None
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page. With order ASC it is set even on the "
        "last page: poll with it later to get only newer events"
    )


@strawberry.type(description="A page of audit events (a Relay connection)")
class AuditLogConnection:
    edges: list[AuditLogEdge]
    page_info: PageInfo


@strawberry.type(description="The resource an export is cut by")
class ExportResource:
    type: str
    id: str


@strawberry.type(description="An export job and, once it succeeded, its download links")
class Export:
    id: strawberry.ID
    status: ExportStatus
    format: ExportFormat
    compression: ExportCompression
    start: str = strawberry.field(description="First UTC day, inclusive")
    end: str = strawberry.field(description="Last UTC day, inclusive")
    resource: ExportResource | None = strawberry.field(description="Null: the whole tenant")
    filters: JSON
    created_at: str
    started_at: str | None
    completed_at: str | None
    event_count: Long | None
    bytes: Long | None
    sha256: str | None
    error: str | None
    download_url: str | None = strawberry.field(description="Needs no token; expires")
    download_expires_at: str | None
    manifest_url: str | None

    @classmethod
    def from_view(cls, view: Mapping[str, Any]) -> Export:
        resource = view.get("resource")
        count, size = view.get("event_count"), view.get("bytes")
        return cls(
            id=strawberry.ID(view["id"]),
            status=ExportStatus(view["status"]),
            format=ExportFormat(view["format"]),
            compression=ExportCompression(view["compression"]),
            start=view["start"],
            end=view["end"],
            resource=None
            if resource is None
            else ExportResource(type=resource["type"], id=resource["id"]),
            filters=JSON(view.get("filters") or {}),
            created_at=view["created_at"],
            started_at=view.get("started_at"),
            completed_at=view.get("completed_at"),
            event_count=None if count is None else Long(count),
            bytes=None if size is None else Long(size),
            sha256=view.get("sha256"),
            error=view.get("error"),
            download_url=view.get("download_url"),
            download_expires_at=view.get("download_expires_at"),
            manifest_url=view.get("manifest_url"),
        )


@strawberry.type(description="Result of the Pipefy-compatible exportPipeAuditLogsReport")
class ExportPipeAuditLogsReportPayload:
    success: bool = strawberry.field(description="True: the export job was created")
    export: Export | None = strawberry.field(
        description="The export job (a trailkeeper addition; Pipefy returns only success)"
    )
