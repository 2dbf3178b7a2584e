"""Narrow storage interfaces, shaped by what the service needs.

Each backend (``sqlite/``, ``postgres/``) implements these on its own terms
(Tessera's philosophy: no lowest-common-denominator abstraction), and one
contract test suite runs against both."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from trailkeeper.events.query import EventQuery
from trailkeeper.events.record import Draft
from trailkeeper.events.view import EventView
from trailkeeper.storage.exportrows import ExportRow
from trailkeeper.storage.ready import OccurredForm, ReadyBatch
from trailkeeper.storage.retention import RetentionStore
from trailkeeper.storage.rows import RowSource
from trailkeeper.storage.streamsql import StreamRecord, StreamStatus
from trailkeeper.storage.tenants import TenantStore

__all__ = [
    "FACETS",
    "BackendName",
    "CheckpointRecord",
    "EventStore",
    "ExportRecord",
    "ExportStore",
    "Facet",
    "IntegrateStep",
    "IntegrityStore",
    "NewDelivery",
    "RateLimitStore",
    "Receipt",
    "SessionStore",
    "Store",
    "StreamStore",
    "TreeState",
    "WebhookDelivery",
    "WebhookStore",
]

Facet = Literal["actor", "action", "category", "source", "resource"]
FACETS: tuple[Facet, ...] = ("actor", "action", "category", "source", "resource")


@dataclass(frozen=True, slots=True)
class Receipt:
    id: str
    seq: int
    leaf_hash: str


class EventStore(Protocol):
    occurred_form: OccurredForm
    """What :meth:`append_ready`'s rows hold in ``occurred_at``."""

    def append(self, tenant_id: int, drafts: Sequence[Draft]) -> list[Receipt]:
        """Sequence drafts atomically: gapless ``seq``, idempotent ``id``, durable on return.

        Raises ``Conflict`` when an ``id`` exists with other content."""

    def append_many(
        self, batches: Sequence[tuple[int, Sequence[Draft]]]
    ) -> list[list[Receipt] | Exception]:
        """:meth:`append` of each ``(tenant_id, drafts)``, in order, each all or nothing, as
        few commits as the backend allows (one on SQLite); each batch's receipts, or the
        exception that refused it (the others stand)."""

    def append_ready(self, batches: Sequence[ReadyBatch]) -> list[list[Receipt] | Exception]:
        """:meth:`append_many` of batches made ready beforehand (elsewhere, perhaps:
        ``trailkeeper ingest``'s worker processes), with this backend's
        ``occurred_at`` (see :func:`~trailkeeper.storage.ready.ready_batch`)."""

    def get_event(self, tenant_id: int, event_id: str) -> EventView | None: ...

    def page(
        self, tenant_id: int, query: EventQuery, after: int | None, limit: int
    ) -> list[EventView]:
        """Up to ``limit`` events in ``query.order`` strictly beyond seq ``after``."""

    def count(self, tenant_id: int, query: EventQuery, cap: int) -> int:
        """Matching events, counting no further than ``cap``."""

    def facet(
        self, tenant_id: int, name: Facet, query: EventQuery, limit: int
    ) -> list[dict[str, Any]]: ...

    def run_events(self, tenant_id: int, run_id: str, limit: int) -> list[EventView]: ...


class BackendName(Protocol):
    backend: str
    """``sqlite`` or ``postgresql``: chooses how some work runs, never what it does."""


class RateLimitStore(Protocol):
    def hit(self, key: str, window_start: int, window_seconds: int) -> int:
        """Count one request in a fixed window shared by every process; return the count."""

    def hit_many(self, keys: Sequence[str], window_start: int, window_seconds: int) -> list[int]:
        """:meth:`hit` for each key in turn (a key may repeat), in one transaction where
        the backend allows; each count as :meth:`hit` would have returned it."""
        ...


@dataclass(frozen=True, slots=True)
class TreeState:
    """How far a tenant's Merkle tree is integrated."""

    size: int
    edge: tuple[bytes, ...]
    root: bytes


@dataclass(frozen=True, slots=True)
class CheckpointRecord:
    size: int
    root: bytes
    note: str
    created_at: datetime


TileAdditions = Mapping[tuple[int, int], Sequence[tuple[int, bytes]]]
IntegrateStep = Callable[[TreeState, Sequence[bytes]], tuple[TreeState, TileAdditions]]


class IntegrityStore(Protocol):
    def tenants_to_integrate(self) -> list[int]:
        """Tenants whose log has events their tree does not cover yet."""

    def integrate(self, tenant_id: int, limit: int, step: IntegrateStep) -> TreeState | None:
        """Feed up to ``limit`` sequenced leaf hashes to ``step`` and store its tiles
        and state, in one transaction. None when another process is integrating."""

    def tree_state(self, tenant_id: int) -> TreeState: ...

    def read_tiles(
        self, tenant_id: int, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]: ...

    def add_checkpoint(self, tenant_id: int, size: int, root: bytes, note: str) -> None:
        """Store a signed checkpoint (a second one for the same size is ignored)."""

    def checkpoint(self, tenant_id: int, size: int | None = None) -> CheckpointRecord | None:
        """The checkpoint of that size, or the latest one."""

    def checkpoints(self, tenant_id: int) -> list[CheckpointRecord]: ...

    def scan(self, tenant_id: int) -> Iterator[tuple[EventView, bytes | None]]:
        """Every stored event row in seq order with its pii_salt, duplicates included:
        the one-pass reference ``verify``'s chunks are compared with. Streams."""

    def row_source(self) -> RowSource:
        """Raw rows and tiles on connections of their own: what ``verify`` reads, in
        worker processes too (a source is picklable)."""


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One export job as stored. ``spec`` is the validated request (format,
    compression, start, end, resource, filters) as JSON-ready data."""

    id: str
    tenant_id: int
    token_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    spec: dict[str, Any]
    webhook_url_sealed: bytes | None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    attempts: int = 0
    event_count: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    error: str | None = None
    object_key: str | None = None
    manifest_key: str | None = None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A webhook to send, queued in the same transaction as what it announces."""

    id: str  # the Standard Webhooks ``webhook-id``, the same on every attempt
    tenant_id: int
    url_sealed: bytes
    payload: bytes  # the exact JSON body
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    id: str
    tenant_id: int
    url_sealed: bytes
    payload: bytes
    created_at: datetime
    attempts: int  # attempts made before this one


class ExportStore(Protocol):
    def create_export(
        self, record: ExportRecord, quota_key: tuple[str, str, date], quota: int
    ) -> bool:
        """Count the request against ``quota_key`` (token, resource, UTC day) and
        store the job, in one transaction; False (nothing stored) over ``quota``."""

    def export_rows(
        self, tenant_id: int, query: EventQuery, batch_rows: int
    ) -> Generator[list[ExportRow]]:
        """The events ``query`` matches, in ascending seq, as raw rows (what export files
        are written from; see :mod:`trailkeeper.storage.exportrows`), ``batch_rows`` at a
        time. Close the iterator when stopping early: it may hold a connection."""

    def get_export(self, tenant_id: int, export_id: str) -> ExportRecord | None: ...

    def list_exports(
        self, tenant_id: int, limit: int, before: str | None = None
    ) -> list[ExportRecord]:
        """Newest first; ``before`` is an export id to continue after."""

    def claim_export(
        self, worker: str, lease_seconds: float, *, with_webhook: bool = True
    ) -> ExportRecord | None:
        """Take the oldest queued job, or a running one whose lease expired (its
        worker died), and lease it to ``worker``. Safe with many processes."""

    def renew_export_lease(self, export_id: str, worker: str, lease_seconds: float) -> bool:
        """Extend the lease; False when the job is no longer this worker's."""

    def finish_export(
        self, record: ExportRecord, worker: str, delivery: NewDelivery | None
    ) -> bool:
        """Store the final state (succeeded or failed) and queue its webhook in one
        transaction; False (and nothing stored) when the lease was lost."""


class WebhookStore(Protocol):
    def claim_deliveries(self, lease_seconds: float, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries that are due, leased so that no other process sends
        them until ``lease_seconds`` pass."""

    def delivery_attempted(
        self,
        delivery_id: str,
        *,
        delivered: bool,
        next_attempt_at: datetime | None,
        status_code: int | None,
        error: str | None,
    ) -> None:
        """Record an attempt: delivered, retry at ``next_attempt_at``, or given up (None)."""


class StreamStore(Protocol):
    """Streams to SIEMs (implemented once for both backends in ``streamsql.py``)."""

    def create_stream(self, record: StreamRecord) -> None: ...

    def get_stream(self, tenant_id: int, stream_id: str) -> StreamRecord | None: ...

    def list_streams(self, tenant_id: int) -> list[StreamRecord]: ...

    def set_stream_status(
        self, tenant_id: int, stream_id: str, status: StreamStatus
    ) -> StreamRecord | None: ...

    def delete_stream(self, tenant_id: int, stream_id: str) -> bool: ...

    def claimable_streams(self, limit: int) -> list[str]: ...

    def claim_stream(
        self, stream_id: str, owner: str, lease_seconds: float
    ) -> StreamRecord | None: ...

    def stream_progress(
        self, stream_id: str, owner: str, cursor_seq: int, delivered: int, lease_seconds: float
    ) -> StreamRecord | None: ...

    def stream_error(
        self, stream_id: str, owner: str, error: str, *, failing: bool, lease_seconds: float
    ) -> StreamRecord | None: ...

    def release_stream(self, stream_id: str, owner: str) -> None: ...

    def last_seq(self, tenant_id: int) -> int: ...

    def stream_rows(
        self, tenant_id: int, query: EventQuery, after: int, limit: int
    ) -> list[ExportRow]: ...

    def seq_received_from(self, tenant_id: int, moment: datetime) -> int: ...


class SessionStore(Protocol):
    """Web UI sessions: the hash of a random cookie id mapped to the hash of the token
    it was opened with, until it expires; shared by every process."""

    def create_session(
        self, id_hash: bytes, token_hash: bytes, created_at: datetime, expires_at: datetime
    ) -> None:
        """Store a session (and drop the ones that have expired)."""

    def session_token(self, id_hash: bytes, now: datetime) -> bytes | None:
        """The token hash of a session that has not expired at ``now``."""

    def delete_session(self, id_hash: bytes) -> None: ...


class Store(
    BackendName,
    EventStore,
    TenantStore,
    RateLimitStore,
    IntegrityStore,
    ExportStore,
    WebhookStore,
    StreamStore,
    RetentionStore,
    SessionStore,
    Protocol,
):
    """Everything one deployment keeps, behind one connection pool."""

    def schema_version(self) -> int:
        """The last migration applied; 0 for a database never migrated (read only)."""
        ...

    def migrate(self) -> int:
        """Apply pending migrations; return the schema version."""

    def claim(self, name: str, value: bytes) -> bytes:
        """Record ``value`` under ``name`` unless one is there; return the stored value."""

    def ping(self) -> None: ...

    def close(self) -> None: ...
