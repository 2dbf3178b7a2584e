"""One day's retention archive file: the rows read on a connection of its own, written as
JSON lines, gzip (ISA-L), fsynced.

A big day is written in a worker process (:class:`ArchiveWriters`): the file is CPU work
(rows built by the driver, lines encoded, bytes compressed) that in the serving process
would hold its GIL most of the time, and every ingest request would wait for it at each
step (measured: ``bench/retention.py``). In its own process it runs beside the server on
another core. A small day is written inline: a process costs more than it saves. Both
run :func:`write_day`, so the file is the same either way."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from trailkeeper.private_files import private_file
from trailkeeper.service.prefetch import prefetched
from trailkeeper.storage.exportrows import LEAF_HASH, SEQ, ExportRow
from trailkeeper.storage.rows import RowSource
from trailkeeper.workerpool import die_with_parent

if TYPE_CHECKING:
    from trailkeeper.exports.files import FileSummary

__all__ = ["PROCESS_ROWS", "ArchiveWriters", "DayFile", "write_day"]

ROWS = 5_000  # rows read at a time
PROCESS_ROWS = 20_000
"""Days of at least this many events are written in a worker process."""


@dataclass(frozen=True, slots=True)
class DayFile:
    summary: FileSummary
    edges: dict[int, str] = field(default_factory=dict)  # first and last seq: leaf hash


def write_day(
    source: RowSource, prefetch: bool, tenant_id: int, span: tuple[int, int], part: Path
) -> DayFile:
    """Write seqs ``span`` (both ends included) to ``part``, fsynced. ``prefetch``: read
    the next rows on another thread while these are written (PostgreSQL, whose driver
    reads a network buffer at a time without the GIL; SQLite's steps row by row)."""
    from trailkeeper.exports.files import write_export_rows  # pyarrow: loaded on use

    edges: dict[int, str] = {}
    reader = source.open()
    fetcher = ThreadPoolExecutor(1, thread_name_prefix="trailkeeper-archive-read")
    try:
        batches = reader.archive_rows(tenant_id, *span, ROWS)
        with (
            closing(prefetched(batches, fetcher) if prefetch else batches) as read,
            private_file(part).open("wb") as out,
        ):
            summary = write_export_rows(
                _edges(read, span, edges), "jsonl", "gzip", out, fast_gzip=True
            )
            out.flush()
            os.fsync(out.fileno())
    finally:
        fetcher.shutdown()
        reader.close()
    return DayFile(summary, edges)


def _edges(
    batches: Iterator[list[ExportRow]], span: tuple[int, int], edges: dict[int, str]
) -> Iterator[list[ExportRow]]:
    """The batches, noting the leaf hashes of the span's first and last events."""
    for rows in batches:
        for row in (rows[0], rows[-1]):
            if row[SEQ] in span:
                edges[row[SEQ]] = row[LEAF_HASH].decode()
        yield rows


class ArchiveWriters:
    """A worker process for big days, started with the first one and stopped by
    :meth:`close` (at the end of each retention run)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def submit(
        self, source: RowSource, prefetch: bool, tenant_id: int, span: tuple[int, int],
        part: Path,
    ) -> Future[DayFile]:  # fmt: skip
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent
            )
        return self._pool.submit(write_day, source, prefetch, tenant_id, span, part)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
