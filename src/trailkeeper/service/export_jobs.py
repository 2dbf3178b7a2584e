"""Running export jobs: claim one, stream its events into a file, sign a
manifest with a checkpoint that covers the file, store both, and queue the
webhook in the same transaction that marks the job done.

A worker holds a job through a lease it renews while writing; if it dies the
lease runs out and another worker starts the job again from scratch (the file
is only published once complete, so a half-written one is never seen)."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson
import uuid_utils

from trailkeeper.events.query import EventQuery
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.exports.manifest import build_manifest, encode_manifest, sign_manifest
from trailkeeper.exports.request import ExportSpec
from trailkeeper.integrity import Signer
from trailkeeper.objectstores import ObjectStore, object_key
from trailkeeper.private_files import private_dir, private_file
from trailkeeper.service.earlysync import EarlySync
from trailkeeper.service.exports import export_view
from trailkeeper.service.integrity import IntegrityService
from trailkeeper.service.prefetch import prefetched
from trailkeeper.settings import Settings
from trailkeeper.storage.exportrows import LEAF_HASH, SEQ, ExportRow
from trailkeeper.storage.protocols import (
    BackendName,
    CheckpointRecord,
    ExportRecord,
    ExportStore,
    NewDelivery,
)
from trailkeeper.storage.tenants import TenantLookup

if TYPE_CHECKING:  # pyarrow: see _produce
    from trailkeeper.exports.files import FileSummary

__all__ = ["ExportJobStore", "ExportRunner"]

log = logging.getLogger("trailkeeper.exports")

LEASE_SECONDS = 60.0
RENEW_EVERY = 15.0
MAX_ATTEMPTS = 3
CHECKPOINT_WAIT = 60.0


class LeaseLost(Exception):
    """Another worker took the job over (this one was presumed dead)."""


@dataclass(slots=True)
class _Edges:
    """The first and last events written, for the manifest's inclusion proofs."""

    first: tuple[int, str] | None = None
    last: tuple[int, str] | None = None


class ExportJobStore(ExportStore, TenantLookup, BackendName, Protocol):
    """Export jobs and their rows, the tenant, and the checkpoint a manifest cites."""

    def checkpoint(self, tenant_id: int, size: int | None = None) -> CheckpointRecord | None: ...


class ExportRunner:
    def __init__(
        self,
        store: ExportJobStore,
        integrity: IntegrityService,
        signer: Signer,
        objects: ObjectStore,
        settings: Settings,
        *,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._store = store
        self._integrity = integrity
        self._signer = signer
        self._objects = objects
        self._settings = settings
        self.lease_seconds = lease_seconds
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid_utils.uuid4().hex[:8]}"
        self.serving_at: str | None = None  # set by ``serve``: its own address
        # reads the next rows while these are written (one thread: one SQLite connection)
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="trailkeeper-export-read")
        self._syncer = ThreadPoolExecutor(1, thread_name_prefix="trailkeeper-export-sync")

    @property
    def base_url(self) -> str | None:
        """Where the links in webhooks point: the public URL, else the address ``serve``
        listens on (``serving_at``); None in a ``worker`` that was not told."""
        base = self._settings.public_url or self.serving_at
        return None if base is None else base.rstrip("/")

    @property
    def links_known(self) -> bool:
        """Whether a webhook's download links can be written (S3's need no base URL)."""
        return self.base_url is not None or not self._objects.links_need_base_url

    def run_once(self) -> bool:
        """Run one job if there is one; True when a job was taken.

        Without known links, exports that announce themselves by webhook are left queued
        for a process that knows them: a webhook with a wrong link is never sent."""
        job = self._store.claim_export(
            self.worker_id, self.lease_seconds, with_webhook=self.links_known
        )
        if job is None:
            return False
        if job.attempts > MAX_ATTEMPTS:
            final = self._failed(
                job,
                f"Gave up after {MAX_ATTEMPTS} attempts: the worker running this export "
                "stopped each time (see the server logs)",
            )
        else:
            try:
                final = self._produce(job)
            except LeaseLost:
                log.warning("export %s was taken over by another worker", job.id)
                return True
            except Exception as exc:
                log.exception("export %s failed", job.id)
                final = self._failed(job, f"Writing the export failed: {exc}"[:500])
        if not self._store.finish_export(final, self.worker_id, self._delivery(final)):
            log.warning("export %s finished after its lease was lost; result dropped", job.id)
        return True

    def close(self) -> None:
        """Stop the reader and sync threads (they start with the first export)."""
        self._reader.shutdown()
        self._syncer.shutdown()

    def run_all(self) -> int:
        """Run jobs until none is queued (for the CLI and tests)."""
        done = 0
        while self.run_once():
            done += 1
        return done

    # one job ---------------------------------------------------------------
    def _produce(self, job: ExportRecord) -> ExportRecord:
        # The file writers need pyarrow, ~80 MB of RSS: a server loads it with its first
        # export, not at start.
        import pyarrow as pa

        from trailkeeper.exports.files import content_type, file_extension

        # Arrow's default pool (mimalloc) keeps ~25 MB of freed batches resident for good;
        # malloc's gives it back. Process-wide: exports are what uses Arrow in a server.
        pa.set_memory_pool(pa.system_memory_pool())
        spec = ExportSpec.from_json(job.spec)
        tenant = self._store.tenant_by_id(job.tenant_id)
        if tenant is None:
            return self._failed(job, "The tenant no longer exists")
        scratch = self._settings.data_dir / "tmp"
        part = private_file(private_dir(scratch) / f"{job.id}.part")
        edges = _Edges()
        try:
            summary = self._write_file(job, spec, part, edges)
            self._renew(job)
            extension = file_extension(spec.format, spec.compression)
            key = object_key(tenant.name, spec.resource, spec.start, spec.end, job.id, extension)
            manifest_key = f"{key}.manifest.json"
            signed = self._signed_manifest(job, tenant.name, spec, key, summary, edges)
            self._objects.put_file(key, part, content_type(spec.format, spec.compression))
            self._objects.put_bytes(manifest_key, encode_manifest(signed), "application/json")
        finally:
            part.unlink(missing_ok=True)
            pa.default_memory_pool().release_unused()  # malloc_trim: give back what it held
        return replace(
            job,
            status="succeeded",
            completed_at=datetime.now(UTC),
            event_count=summary.event_count,
            bytes=summary.bytes,
            sha256=summary.sha256,
            error=None,
            object_key=key,
            manifest_key=manifest_key,
        )

    def _write_file(
        self, job: ExportRecord, spec: ExportSpec, part: Path, edges: _Edges
    ) -> FileSummary:
        """The job's file written to ``part`` and synced to disk."""
        from trailkeeper.exports.files import write_export_rows  # pyarrow: see _produce

        with part.open("wb") as out:
            rows = self._rows(job, spec.query(), edges)
            early = EarlySync(out, self._syncer)
            summary = write_export_rows(rows, spec.format, spec.compression, early)
            early.finish()
            out.flush()
            os.fsync(out.fileno())
        return summary

    def _signed_manifest(
        self,
        job: ExportRecord,
        tenant: str,
        spec: ExportSpec,
        key: str,
        summary: FileSummary,
        edges: _Edges,
    ) -> dict[str, Any]:
        """The file's manifest, with the checkpoint that covers it and its proofs, signed."""
        checkpoint = self._checkpoint_covering(job.tenant_id, summary.last_seq)
        manifest = build_manifest(
            export_id=job.id,
            tenant=tenant,
            format=spec.format,
            compression=spec.compression,
            file=key.rsplit("/", 1)[-1],
            file_sha256=summary.sha256,
            bytes=summary.bytes,
            event_count=summary.event_count,
            first_seq=summary.first_seq,
            last_seq=summary.last_seq,
            start=spec.start,
            end=spec.end,
            resource=spec.resource,
            filters=spec.filters,
            created_at=job.created_at,
            checkpoint=None if checkpoint is None else checkpoint.note,
            proofs=self._proofs(job.tenant_id, checkpoint, edges),
        )
        return sign_manifest(manifest, self._signer)

    def _rows(
        self, job: ExportRecord, query: EventQuery, edges: _Edges
    ) -> Iterator[list[ExportRow]]:
        """The job's rows, a batch at a time (memory stays flat), renewing the lease."""
        renewed = time.monotonic()
        from trailkeeper.exports.columns import BUILD_ROWS  # pyarrow: see _produce

        batches = self._store.export_rows(job.tenant_id, query, BUILD_ROWS)
        # SQLite's driver lets go of the GIL for every row it steps to: with the writer on
        # another thread, each row hands the GIL over and back, which cost more than the
        # overlap gave (docs/benchmarks.md, "Exports").
        inline = self._store.backend == "sqlite"
        with closing(batches if inline else prefetched(batches, self._reader)) as read:
            for rows in read:
                if edges.first is None:
                    edges.first = (rows[0][SEQ], rows[0][LEAF_HASH].decode())
                edges.last = (rows[-1][SEQ], rows[-1][LEAF_HASH].decode())
                yield rows
                if time.monotonic() - renewed > RENEW_EVERY:
                    self._renew(job)
                    renewed = time.monotonic()

    def _renew(self, job: ExportRecord) -> None:
        if not self._store.renew_export_lease(job.id, self.worker_id, self.lease_seconds):
            raise LeaseLost(job.id)

    def _checkpoint_covering(self, tenant_id: int, last_seq: int | None) -> CheckpointRecord | None:
        """A signed checkpoint whose tree holds ``last_seq`` (signed now if need be)."""
        deadline = time.monotonic() + CHECKPOINT_WAIT
        while True:
            latest = self._store.checkpoint(tenant_id)
            if last_seq is None or (latest is not None and latest.size > last_seq):
                return latest
            if time.monotonic() > deadline:
                raise RuntimeError("no checkpoint covers the export's last event yet")
            if self._integrity.sync(tenant_id) is None:
                time.sleep(0.2)  # another process is integrating this tenant

    def _proofs(
        self, tenant_id: int, checkpoint: CheckpointRecord | None, edges: _Edges
    ) -> list[dict[str, Any]]:
        if checkpoint is None:
            return []
        proofs = []
        for edge in dict.fromkeys(e for e in (edges.first, edges.last) if e is not None):
            seq, leaf_hash = edge
            hashes = self._integrity.inclusion_hashes(tenant_id, seq, checkpoint.size)
            proofs.append(
                {
                    "seq": seq,
                    "leaf_hash": leaf_hash,
                    "tree_size": checkpoint.size,
                    "hashes": [h.hex() for h in hashes],
                }
            )
        return proofs

    # outcomes ----------------------------------------------------------------
    @staticmethod
    def _failed(job: ExportRecord, error: str) -> ExportRecord:
        return replace(job, status="failed", completed_at=datetime.now(UTC), error=error)

    def _delivery(self, final: ExportRecord) -> NewDelivery | None:
        if final.webhook_url_sealed is None:
            return None
        now = datetime.now(UTC)
        payload = {
            "type": f"export.{final.status}",
            "timestamp": format_timestamp(now),
            "data": export_view(final, self._objects, self.base_url or ""),
        }
        return NewDelivery(
            id=f"msg_{final.id}",
            tenant_id=final.tenant_id,
            url_sealed=final.webhook_url_sealed,
            payload=orjson.dumps(payload),
            created_at=now,
        )
