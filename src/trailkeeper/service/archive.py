"""Retention archives: one UTC day of a tenant's log written as a JSONL export file
(gzip) with its signed manifest, through the same writers, manifests and object
stores as exports, then read back from the store and checked before retention is
allowed to delete the events it holds."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import wait
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from trailkeeper.exports.manifest import build_manifest, encode_manifest, proof_entry, sign_manifest
from trailkeeper.integrity import Signer
from trailkeeper.objectstores import ObjectStore
from trailkeeper.private_files import private_dir
from trailkeeper.retention import archive_key
from trailkeeper.service.archivefile import PROCESS_ROWS, ArchiveWriters, DayFile, write_day
from trailkeeper.service.integrity import IntegrityService
from trailkeeper.storage.protocols import BackendName, CheckpointRecord
from trailkeeper.storage.rows import RowSource

__all__ = ["ArchiveMismatch", "ArchiveStore", "DayArchiver"]

_CHECKPOINT_WAIT = 60.0
_RENEW_EVERY = 10.0
_WAIT_STEP = 0.05  # seconds between looks at a worker process with nothing else to do
Renew = Callable[[], None]
Meanwhile = Callable[[], bool]  # True: did some work, call again


class ArchiveStore(BackendName, Protocol):
    """The rows to archive (read on connections of their own) and the checkpoint cited."""

    def checkpoint(self, tenant_id: int, size: int | None = None) -> CheckpointRecord | None: ...

    def row_source(self) -> RowSource: ...


class ArchiveMismatch(RuntimeError):
    """What the object store returned is not what was written: nothing is deleted."""


class DayArchiver:
    def __init__(
        self,
        store: ArchiveStore,
        integrity: IntegrityService,
        signer: Signer,
        objects: ObjectStore,
        scratch: Path,
    ) -> None:
        self._store = store
        self._integrity = integrity
        self._signer = signer
        self._objects = objects
        self._scratch = scratch
        self._writers = ArchiveWriters()
        self.process_rows = PROCESS_ROWS  # days this big are written in a worker process

    def close(self) -> None:
        """Stop the worker process, if one was started (the run is over)."""
        self._writers.close()

    def archive(
        self, tenant_id: int, tenant: str, day: date, span: tuple[int, int], renew: Renew,
        meanwhile: Meanwhile = lambda: False,
    ) -> str:  # fmt: skip
        """Write, store and read back the archive of seqs ``span`` (one day, both ends
        included); its key. ``renew`` is called now and then while the file is written
        (the caller's lease); while a worker process writes it, ``meanwhile`` is called
        until it returns False (work of the caller's that may overlap). Raises when any
        step fails, and then nothing may be deleted."""
        first, last = span
        key = archive_key(tenant, day)
        part = private_dir(self._scratch) / f"retention-{tenant_id}-{day.isoformat()}.part"
        try:
            written = self._write(tenant_id, span, part, renew, meanwhile)
            summary, edges = written.summary, written.edges
            if (summary.first_seq, summary.last_seq) != (first, last) or (
                summary.event_count != last - first + 1
            ):
                raise ArchiveMismatch(
                    f"seqs {first}-{last} read as {summary.event_count} events "
                    f"({summary.first_seq}-{summary.last_seq}): not the whole range"
                )
            checkpoint = self._checkpoint_covering(tenant_id, last)
            manifest = build_manifest(
                export_id=f"retention-{day.isoformat()}",
                tenant=tenant,
                format="jsonl",
                compression="gzip",
                file=key.rsplit("/", 1)[-1],
                file_sha256=summary.sha256,
                bytes=summary.bytes,
                event_count=summary.event_count,
                first_seq=first,
                last_seq=last,
                start=day,
                end=day,
                resource=None,
                filters={},
                created_at=datetime.now(UTC),
                checkpoint=checkpoint.note,
                proofs=self._proofs(tenant_id, checkpoint, edges),
            )
            manifest_bytes = encode_manifest(sign_manifest(manifest, self._signer))
            self._objects.put_file(key, part, "application/gzip")
            self._objects.put_bytes(f"{key}.manifest.json", manifest_bytes, "application/json")
        finally:
            part.unlink(missing_ok=True)
        self._read_back(key, summary.sha256, summary.bytes, manifest_bytes)
        return key

    def _write(
        self, tenant_id: int, span: tuple[int, int], part: Path, renew: Renew,
        meanwhile: Meanwhile,
    ) -> DayFile:  # fmt: skip
        """The day's file, written inline or (a big day) by the worker process while
        the caller's ``meanwhile`` work goes on here."""
        source = self._store.row_source()
        prefetch = self._store.backend == "postgresql"
        if span[1] - span[0] + 1 < self.process_rows:
            return write_day(source, prefetch, tenant_id, span, part)
        future = self._writers.submit(source, prefetch, tenant_id, span, part)
        renewed = time.monotonic()
        busy = True
        while not future.done():
            busy = busy and meanwhile()
            if not busy:
                wait([future], timeout=_WAIT_STEP)
            if time.monotonic() - renewed > _RENEW_EVERY:
                renew()
                renewed = time.monotonic()
        return future.result()

    def _read_back(self, key: str, sha256: str, size: int, manifest: bytes) -> None:
        digest, seen = hashlib.sha256(), 0
        for chunk in self._objects.read_chunks(key):
            digest.update(chunk)
            seen += len(chunk)
        if digest.hexdigest() != sha256 or seen != size:
            raise ArchiveMismatch(f"{key} read back as {seen} bytes with another SHA-256")
        stored = b"".join(self._objects.read_chunks(f"{key}.manifest.json"))
        if stored != manifest:
            raise ArchiveMismatch(f"{key}.manifest.json read back differs from what was written")

    def _checkpoint_covering(self, tenant_id: int, last_seq: int) -> CheckpointRecord:
        deadline = time.monotonic() + _CHECKPOINT_WAIT
        while True:
            latest = self._store.checkpoint(tenant_id)
            if latest is not None and latest.size > last_seq:
                return latest
            if time.monotonic() > deadline:
                raise RuntimeError("no signed checkpoint covers the archive's last event yet")
            if self._integrity.sync(tenant_id) is None:
                time.sleep(0.2)  # another process is integrating this tenant

    def _proofs(
        self, tenant_id: int, checkpoint: CheckpointRecord, edges: dict[int, str]
    ) -> list[dict[str, Any]]:
        return [
            proof_entry(
                seq, leaf, checkpoint.size,
                self._integrity.inclusion_hashes(tenant_id, seq, checkpoint.size),
            )
            for seq, leaf in sorted(edges.items())
        ]  # fmt: skip
