"""What retention and erasure need from a store (both backends implement it)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from trailkeeper.storage.exportrows import ExportRow

__all__ = ["ErasureRecord", "PolicyRecord", "RetentionState", "RetentionStore"]


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    days: int | None
    archive: bool
    legal_hold: bool


@dataclass(frozen=True, slots=True)
class RetentionState:
    """Every seq <= ``archived_through`` is archived (written and read back), every
    seq <= ``removed_through`` deleted; -1 when none."""

    archived_through: int = -1
    removed_through: int = -1
    last_run_at: datetime | None = None
    last_error: str | None = None
    next_run_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ErasureRecord:
    id: str
    tenant_id: int
    actor_id: str
    token_id: str
    token_name: str
    status: Literal["queued", "running", "erased", "succeeded"]
    requested_at: datetime
    events_total: int
    events_erased: int = 0
    after_seq: int = -1
    started_at: datetime | None = None
    completed_at: datetime | None = None


class RetentionStore(Protocol):
    # policies -------------------------------------------------------------
    def retention_policy(self, tenant_id: int) -> PolicyRecord | None: ...

    def put_retention_policy(self, tenant_id: int, policy: PolicyRecord) -> None: ...

    # runs -----------------------------------------------------------------
    def retention_state(self, tenant_id: int) -> RetentionState: ...

    def retention_due(self, now: datetime, everyone: bool) -> list[int]:
        """Tenants with a retention period whose next run is due and that no process is
        running; ``everyone``: tenants without a policy of their own have one (the
        deployment's default)."""

    def claim_retention(self, tenant_id: int, worker: str, lease_seconds: float) -> bool:
        """Lease the tenant's retention run to ``worker`` (False: another holds it)."""

    def finish_retention(
        self, tenant_id: int, worker: str, error: str | None, next_run_at: datetime
    ) -> None:
        """Record the run's outcome and release the lease."""

    def received_at(self, tenant_id: int, seq: int) -> int | None:
        """The event's ``received_at`` in microseconds (None: no such event)."""

    def archive_rows(
        self, tenant_id: int, first: int, last: int, batch_rows: int
    ) -> Generator[list[ExportRow]]:
        """Raw export rows of ``first <= seq <= last`` in seq order, a batch at a time."""

    def mark_archived(
        self, tenant_id: int, worker: str, through: int, lease_seconds: float
    ) -> bool:
        """Advance ``archived_through`` and renew the lease; False when it was lost."""

    def drop_partitions(self) -> int:
        """Drop whole time partitions whose every event is archived (PostgreSQL; 0 where
        there are none); the number of events removed."""

    def remove_events(self, tenant_id: int, worker: str, limit: int, lease_seconds: float) -> int:
        """Delete one bounded batch of archived events (the oldest first, none past
        ``archived_through``, none under legal hold) with their dictionary counts;
        the number deleted, 0 when there is nothing left to delete."""

    # erasures -------------------------------------------------------------
    def actor_event_count(self, tenant_id: int, actor_id: str) -> int | None:
        """How many events the actor has (None: the tenant never saw this actor)."""

    def create_erasure(self, record: ErasureRecord) -> ErasureRecord:
        """Store a queued erasure, or return the one already queued or running for
        the same actor (two requests at once make one job)."""

    def get_erasure(self, tenant_id: int, erasure_id: str) -> ErasureRecord | None: ...

    def claim_erasure(self, worker: str, lease_seconds: float) -> ErasureRecord | None:
        """The oldest queued erasure, or a running one whose worker died, leased."""

    def erase_batch(
        self, erasure_id: str, worker: str, limit: int, lease_seconds: float
    ) -> ErasureRecord | None:
        """Erase the next ``limit`` events of the erasure's actor and record the
        progress in the same transaction; when none are left, scrub the actor's
        names and emails from the dictionaries and mark it ``erased`` (its self-audit
        event comes next). None when the lease was lost."""

    def finish_erasure(self, erasure_id: str, worker: str) -> bool:
        """``erased`` → ``succeeded``, once the self-audit event is written."""
