"""Erasure of an actor's personal data (``POST /v1/erasures``, CONTRACT sections 5
and 8): ``actor.name``, ``actor.email``, ``ip``, ``user_agent`` and their salt leave
every event of the actor, and the names and emails leave the dictionaries that the
search reads. ``pii``, ``seq`` and ``leaf_hash`` stay, so every proof still holds.

A request makes a job; workers run it in bounded batches, each one transaction that
also records the progress, under a lease: a worker that dies leaves a job another
one resumes from where it stopped."""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime
from typing import Any, Protocol

import uuid_utils

from trailkeeper.auth.tokens import Principal
from trailkeeper.errors import InvalidRequest, NotFound
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.service.audit import record_admin_action
from trailkeeper.storage.protocols import EventStore
from trailkeeper.storage.retention import ErasureRecord, RetentionStore
from trailkeeper.storage.tenants import Tenant

__all__ = ["ErasureService", "ErasureStore", "erasure_view"]

log = logging.getLogger("trailkeeper.erasure")

LEASE_SECONDS = 60.0
BATCH = 5_000
_MAX_ACTOR_ID = 256


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def erasure_view(record: ErasureRecord) -> dict[str, Any]:
    stamp = _stamp
    return {
        "id": record.id,
        "actor_id": record.actor_id,
        "status": "running" if record.status == "erased" else record.status,
        "requested_at": stamp(record.requested_at),
        "started_at": stamp(record.started_at),
        "completed_at": stamp(record.completed_at),
        "events_total": record.events_total,
        "events_erased": record.events_erased,
    }


class ErasureStore(RetentionStore, EventStore, Protocol):
    """Erasure jobs (kept with retention), and the log for ``trailkeeper.erasure.performed``."""


class ErasureService:
    def __init__(self, store: ErasureStore, batch: int = BATCH) -> None:
        self._store = store
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid_utils.uuid4().hex[:8]}"
        self.batch = batch

    def request(self, tenant: Tenant, body: Any, token_id: str, token_name: str) -> dict[str, Any]:
        """Queue an erasure (or return the one already queued for this actor)."""
        actor_id = _actor_id(body)
        total = self._store.actor_event_count(tenant.id, actor_id)
        if total is None:
            raise NotFound(
                f"No event of this tenant has actor id {actor_id[:128]!r}: nothing to erase "
                "(actor ids are exact and case-sensitive)"
            )
        record = ErasureRecord(
            id="era_" + uuid_utils.uuid7().hex,
            tenant_id=tenant.id,
            actor_id=actor_id,
            token_id=token_id,
            token_name=token_name,
            status="queued",
            requested_at=datetime.now(UTC),
            events_total=total,
        )
        return erasure_view(self._store.create_erasure(record))

    def request_by(self, principal: Principal, body: Any) -> dict[str, Any]:
        return self.request(principal.tenant, body, principal.token.id, principal.token.name)

    def get(self, tenant: Tenant, erasure_id: str) -> dict[str, Any]:
        record = self._store.get_erasure(tenant.id, erasure_id)
        if record is None:
            raise NotFound(f"No erasure {erasure_id[:64]!r} in this tenant")
        return erasure_view(record)

    # the job --------------------------------------------------------------------
    def run_once(self) -> bool:
        """Run one erasure to its end if one is queued (or abandoned); True if so."""
        job = self._store.claim_erasure(self.worker_id, LEASE_SECONDS)
        if job is None:
            return False
        while job is not None and job.status == "running":
            job = self._store.erase_batch(job.id, self.worker_id, self.batch, LEASE_SECONDS)
        if job is None:
            log.warning("erasure taken over by another worker")
            return True
        self._audit(job)
        self._store.finish_erasure(job.id, self.worker_id)
        return True

    def run_all(self) -> int:
        done = 0
        while self.run_once():
            done += 1
        return done

    def _audit(self, job: ErasureRecord) -> None:
        """The self-audit event: the actor id and the count, never the erased values."""
        # A fixed id and time: a worker that dies after writing it and is resumed
        # writes the same event again, which the log takes as a retry, not a second one.
        record_admin_action(
            self._store, job.tenant_id, "trailkeeper.erasure.performed",
            {"id": job.token_id, "type": "service_account", "name": job.token_name},
            resource={"type": "actor", "id": job.actor_id},
            metadata={"erasure_id": job.id, "actor_id": job.actor_id,
                      "events_erased": job.events_erased},
            event_id=f"trailkeeper-{job.id}", occurred_at=job.completed_at,
        )  # fmt: skip
        log.info("erasure %s done: %d events", job.id, job.events_erased)


def _actor_id(body: Any) -> str:
    if not isinstance(body, dict) or set(body) != {"actor_id"}:
        raise InvalidRequest('The body must be {"actor_id": "…"} and nothing else')
    actor_id = body["actor_id"]
    if not isinstance(actor_id, str) or not actor_id or len(actor_id) > _MAX_ACTOR_ID:
        raise InvalidRequest(
            f"actor_id must be a non-empty string of at most {_MAX_ACTOR_ID} characters"
        )
    return actor_id
