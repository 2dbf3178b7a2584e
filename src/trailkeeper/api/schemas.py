"""What the API answers, declared as pydantic models for the OpenAPI description.

Routes still build their bodies as plain dicts (fast, orjson); these models only
describe them, and the schemathesis run in the suite checks every response
against them. ``extra="forbid"`` makes each one exact: a field the server adds
without declaring it here fails that check."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trailkeeper.events.model import ActorType, Source

__all__ = [
    "Checkpoint",
    "ConsistencyProof",
    "CreatedToken",
    "ErrorEnvelope",
    "Event",
    "EventPage",
    "EventWithProof",
    "Export",
    "ExportPage",
    "FacetPage",
    "Health",
    "InclusionProof",
    "PublicKey",
    "Readiness",
    "Receipts",
    "RunEvents",
    "TokenInfo",
    "TokenPage",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Out):
    code: str = Field(description="invalid_request, unauthenticated, not_found, …")
    message: str = Field(description="What went wrong and what to do, for a person")
    details: list[dict[str, Any]] = Field(
        description="Per-item problems, e.g. {index, field, message}; often empty"
    )


class ErrorEnvelope(_Out):
    """Every error response."""

    error: ErrorBody


class Actor(_Out):
    id: str
    type: ActorType
    name: str | None
    email: str | None


class Resource(_Out):
    type: str
    id: str
    name: str | None


class Change(_Out):
    field: str
    old: Any = None
    new: Any = None


class Run(_Out):
    id: str
    flow: str | None = None
    step: str | None = None
    status: str | None = None
    input: Any = None
    output: Any = None
    error: Any = None
    duration_ms: int | None = None


class Event(_Out):
    """An event as stored: every field, null where there is no value."""

    id: str
    seq: int = Field(ge=0, description="0-based position in the tenant's log")
    action: str
    category: str
    occurred_at: datetime
    received_at: datetime
    actor: Actor
    resource: Resource | None
    source: Source
    ip: str | None
    user_agent: str | None
    changes: list[Change] | None
    run: Run | None
    metadata: dict[str, Any] | None
    pii: str = Field(description="Commitment to the personal data (hex SHA-256)")
    leaf_hash: str = Field(description="RFC 9162 leaf hash (hex)")


class EventProof(_Out):
    leaf_index: int
    tree_size: int
    hashes: list[str]
    root_hash: str
    checkpoint: str


class EventWithProof(Event):
    proof: EventProof | None = Field(
        None, description="With ?proof=true: null until a checkpoint covers the event"
    )


class EventPage(_Out):
    data: list[Event]
    next_cursor: str | None
    has_more: bool


class Receipt(_Out):
    id: str
    seq: int
    leaf_hash: str


class Receipts(_Out):
    events: list[Receipt] = Field(description="One per event sent, in request order")


class ActorCount(_Out):
    id: str
    name: str | None
    email: str | None
    count: int


class ResourceCount(_Out):
    type: str
    id: str
    name: str | None
    count: int


class ValueCount(_Out):
    value: str
    count: int


class FacetPage(_Out):
    facet: str
    data: list[ActorCount] | list[ResourceCount] | list[ValueCount]


class RunEvents(_Out):
    run_id: str
    data: list[Event]
    truncated: bool = Field(description="More than 10,000 events: only the first are here")


class PublicKey(_Out):
    verifier_key: str = Field(description="<name>+<hex key id>+<base64 key>")
    key_name: str
    algorithm: Literal["ed25519"]


class Checkpoint(_Out):
    tree_size: int
    root_hash: str
    root_hash_base64: str
    checkpoint: str = Field(description="The C2SP signed note")
    created_at: datetime


class InclusionProof(_Out):
    seq: int
    tree_size: int
    hashes: list[str]
    root_hash: str


class ConsistencyProof(_Out):
    first: int
    second: int
    hashes: list[str]
    first_root_hash: str
    second_root_hash: str


class TokenInfo(_Out):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class CreatedToken(TokenInfo):
    token: str = Field(description="tk_…: shown only in this response")


class TokenPage(_Out):
    data: list[TokenInfo]


class ExportResource(_Out):
    type: str
    id: str


class Export(_Out):
    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    format: Literal["jsonl", "csv", "parquet"]
    compression: Literal["none", "gzip"]
    start: date
    end: date
    resource: ExportResource | None
    filters: dict[str, str | list[str]]
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    event_count: int | None
    bytes: int | None
    sha256: str | None
    error: str | None
    download_url: str | None = Field(description="Signed; needs no token; expires")
    download_expires_at: datetime | None
    manifest_url: str | None


class ExportPage(_Out):
    data: list[Export]
    next_before: str | None = Field(description="Pass as ?before= for the next page")


class Health(_Out):
    status: Literal["ok"]


class Readiness(_Out):
    status: Literal["ready"]
    database: Literal["sqlite", "postgresql"]
