"""Retention: per-tenant policies (``GET``/``PUT /v1/retention``) and the runs that
archive expired events and then delete them (daily in the workers, and on demand).

A run holds a lease on the tenant, so one process runs it at a time, and records its
progress as it goes: days archived (written, then read back) move
``archived_through``; deletes follow in bounded batches up to it and no further. A
run killed at any point leaves that state consistent; the next one resumes from it.
Retention removes the oldest events only: the log stays a gapless suffix, and the
tree keeps every removed event's leaf hash, so every proof still verifies."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import uuid_utils

from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.retention import Policy, cutoff, day_end, day_of, parse_policy_update
from trailkeeper.service.archive import DayArchiver
from trailkeeper.service.audit import record_admin_action
from trailkeeper.settings import Settings
from trailkeeper.storage.protocols import BackendName, EventStore, TreeState
from trailkeeper.storage.retention import PolicyRecord, RetentionStore
from trailkeeper.storage.tenants import Tenant, TenantLookup

__all__ = ["RetentionRunStore", "RetentionService", "RunReport"]

log = logging.getLogger("trailkeeper.retention")

LEASE_SECONDS = 60.0  # renewed with each day archived, batch of rows written, batch deleted
DAILY = timedelta(days=1)
RETRY_AFTER_ERROR = timedelta(hours=1)


@dataclass(slots=True)
class RunReport:
    tenant: str
    skipped: str | None = None
    archives: list[str] = field(default_factory=list)
    archived_events: int = 0
    removed_events: int = 0
    error: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "skipped": self.skipped,
            "archives": self.archives,
            "archived_events": self.archived_events,
            "removed_events": self.removed_events,
            "error": self.error,
        }


class LeaseLost(RuntimeError):
    """Another process took the tenant's run over (this one was presumed dead)."""


class RetentionRunStore(RetentionStore, TenantLookup, EventStore, BackendName, Protocol):
    """Policies, runs and removal, the tree's size, and the log for policy changes."""

    def tree_state(self, tenant_id: int) -> TreeState: ...


class RetentionService:
    def __init__(self, store: RetentionRunStore, archiver: DayArchiver, settings: Settings) -> None:
        self._store = store
        self._archiver = archiver
        self._settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid_utils.uuid4().hex[:8]}"
        self.delete_batch = settings.retention_batch

    def close(self) -> None:
        self._archiver.close()

    # the policy ---------------------------------------------------------------
    def policy(self, tenant: Tenant) -> Policy:
        stored = self._store.retention_policy(tenant.id)
        if stored is None:
            return Policy(self._settings.retention_days, inherited=True)
        return Policy(stored.days, stored.archive, stored.legal_hold)

    def view(self, tenant: Tenant) -> dict[str, Any]:
        policy = self.policy(tenant)
        state = self._store.retention_state(tenant.id)
        removed = state.removed_through + 1
        return {
            **policy.view(),
            "inherited": policy.inherited,
            "min_days": self._settings.min_retention_days,
            "last_run_at": _stamp(state.last_run_at),
            "next_run_at": _stamp(state.next_run_at),
            "last_error": state.last_error,
            "archived_through_seq": None if state.archived_through < 0 else state.archived_through,
            "removed": None if removed == 0 else {"events": removed, "first_seq": 0,
                                                   "last_seq": state.removed_through},
        }  # fmt: skip

    def update(
        self, tenant: Tenant, body: Any, actor: dict[str, Any], *, source: str = "api",
        ip: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Validate and store a policy change, then record it in the tenant's log."""
        old = self.policy(tenant)
        new = parse_policy_update(body, old, self._settings.min_retention_days)
        self._store.put_retention_policy(
            tenant.id, PolicyRecord(new.days, new.archive, new.legal_hold)
        )
        record_admin_action(
            self._store, tenant.id, "trailkeeper.retention.updated", actor,
            resource={"type": "retention_policy", "id": tenant.name},
            metadata={"old": {**old.view(), "inherited": old.inherited}, "new": new.view()},
            source=source, ip=ip,
        )  # fmt: skip
        return self.view(tenant)

    # runs -----------------------------------------------------------------------
    def run_due(self) -> bool:
        """The worker's pass: every tenant whose daily run is due; True if any ran."""
        ran = False
        everyone = self._settings.retention_days is not None
        for tenant_id in self._store.retention_due(datetime.now(UTC), everyone):
            tenant = self._store.tenant_by_id(tenant_id)
            if tenant is not None and self.run(tenant) is not None:
                ran = True
        return ran

    def run(self, tenant: Tenant, now: datetime | None = None) -> RunReport | None:
        """One run for the tenant now (None: another process is running it)."""
        now = now or datetime.now(UTC)
        if not self._store.claim_retention(tenant.id, self.worker_id, LEASE_SECONDS):
            return None
        report = RunReport(tenant.name)
        try:
            self._run(tenant, now, report)
        except Exception as exc:
            log.exception("retention run for %s failed", tenant.name)
            report.error = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            later = RETRY_AFTER_ERROR if report.error else DAILY
            self._store.finish_retention(
                tenant.id, self.worker_id, report.error, datetime.now(UTC) + later
            )
        return report

    def _run(self, tenant: Tenant, now: datetime, report: RunReport) -> None:
        policy = self.policy(tenant)
        if policy.legal_hold:
            report.skipped = "legal hold: nothing is deleted"
            log.info("retention for %s skipped: legal hold", tenant.name)
            return
        if policy.days is not None:
            try:
                self._archive_expired(tenant, policy, cutoff(now, policy.days), report)
            finally:  # what was archived before a failure may still go
                self._archiver.close()
                report.removed_events += self._remove(tenant)
        else:
            report.skipped = "no retention period: events are kept"

    def _archive_expired(self, tenant: Tenant, policy: Policy, cut: int, report: RunReport) -> None:
        """Archive (when asked) one whole UTC day at a time up to ``cut``. Only events
        the tree holds can leave (their leaf hashes must stay in its tiles), and a day
        goes only once the tree holds all of it: each day is one archive, written once."""
        store = self._store
        size = store.tree_state(tenant.id).size
        first = store.retention_state(tenant.id).archived_through + 1
        while first < size:
            received = store.received_at(tenant.id, first)
            if received is None or received >= cut:
                return
            day = day_of(received)
            beyond = store.received_at(tenant.id, size)  # the first event not in the tree
            if beyond is not None and beyond < day_end(day):
                return  # part of the day is not integrated yet: the next run takes it
            last = self._last_before(tenant.id, first, size - 1, day_end(day))
            if policy.archive:
                key = self._archiver.archive(
                    tenant.id, tenant.name, day, (first, last), lambda: self._renew(tenant)
                )
                report.archives.append(key)
                report.archived_events += last - first + 1
            self._renew(tenant, last)
            first = last + 1

    def _renew(self, tenant: Tenant, archived_through: int = -1) -> None:
        """Extend the lease (recording a day archived, when given); raise if it was lost."""
        if not self._store.mark_archived(
            tenant.id, self.worker_id, archived_through, LEASE_SECONDS
        ):
            raise LeaseLost(tenant.name)

    def _last_before(self, tenant_id: int, low: int, high: int, bound: int) -> int:
        """The last seq in ``low..high`` received before ``bound`` (``low`` is),
        by bisection: seq order is received_at order."""
        while low < high:
            middle = (low + high + 1) // 2
            received = self._store.received_at(tenant_id, middle)
            if received is not None and received < bound:
                low = middle
            else:
                high = middle - 1
        return low

    def _remove(self, tenant: Tenant) -> int:
        removed = self._store.drop_partitions()
        while batch := self._store.remove_events(
            tenant.id, self.worker_id, self.delete_batch, LEASE_SECONDS
        ):
            removed += batch
        if removed:
            log.info("retention removed %d events of %s", removed, tenant.name)
        return removed


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)
