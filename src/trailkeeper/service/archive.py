"""Retention archives: one UTC day of a tenant's log written as a JSONL export file
(gzip) with its signed manifest, through the same writers, manifests and object
stores as exports, then read back from the store and checked before retention is
allowed to delete the events it holds."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from trailkeeper.exports.manifest import build_manifest, encode_manifest, proof_entry, sign_manifest
from trailkeeper.integrity import Signer
from trailkeeper.objectstores import ObjectStore
from trailkeeper.retention import archive_key
from trailkeeper.service.integrity import IntegrityService
from trailkeeper.service.prefetch import prefetched
from trailkeeper.storage.exportrows import LEAF_HASH, SEQ, ExportRow
from trailkeeper.storage.protocols import CheckpointRecord, Store

__all__ = ["ArchiveMismatch", "DayArchiver"]

_ROWS = 5_000
_CHECKPOINT_WAIT = 60.0
_RENEW_EVERY = 10.0
Renew = Callable[[], None]


class ArchiveMismatch(RuntimeError):
    """What the object store returned is not what was written: nothing is deleted."""


class DayArchiver:
    def __init__(
        self,
        store: Store,
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
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="trailkeeper-archive-read")

    def close(self) -> None:
        """Stop the reader thread (it starts with the first PostgreSQL archive)."""
        self._reader.shutdown()

    def archive(
        self, tenant_id: int, tenant: str, day: date, span: tuple[int, int], renew: Renew
    ) -> str:
        """Write, store and read back the archive of seqs ``span`` (one day, both ends
        included); its key. ``renew`` is called now and then while rows are read (the
        caller's lease). Raises when any step fails, and then nothing may be deleted."""
        first, last = span
        from trailkeeper.exports.files import write_export_rows  # pyarrow: loaded on use

        key = archive_key(tenant, day)
        self._scratch.mkdir(parents=True, exist_ok=True)
        part = self._scratch / f"retention-{tenant_id}-{day.isoformat()}.part"
        edges: dict[int, str] = {}
        try:
            with part.open("wb") as out:
                rows = self._rows(tenant_id, span, edges, renew)
                summary = write_export_rows(rows, "jsonl", "gzip", out, fast_gzip=True)
                out.flush()
                os.fsync(out.fileno())
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

    def _rows(
        self, tenant_id: int, span: tuple[int, int], edges: dict[int, str], renew: Renew
    ) -> Iterator[list[ExportRow]]:
        renewed = time.monotonic()
        batches = self._store.archive_rows(tenant_id, *span, _ROWS)
        # PostgreSQL's next rows are read on another thread while these are written (as
        # export jobs do); SQLite's inline (its driver hands the GIL over at every row)
        inline = self._store.backend == "sqlite"
        with closing(batches if inline else prefetched(batches, self._reader)) as read:
            for rows in read:
                for row in (rows[0], rows[-1]):
                    if row[SEQ] in span:
                        edges[row[SEQ]] = row[LEAF_HASH].decode()
                yield rows
                if time.monotonic() - renewed > _RENEW_EVERY:
                    renew()
                    renewed = time.monotonic()

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
