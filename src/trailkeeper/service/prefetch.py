"""Reading the next batch while this one is written.

An export alternates between reading rows (the database's work, and the driver's) and
encoding them (mostly Arrow's, which runs without the GIL): with the next read in flight on
another thread, the two overlap. At most two batches are held at a time. The reads run on
one long-lived thread.

Export jobs prefetch PostgreSQL's rows (psycopg reads a network buffer at a time without the
GIL); SQLite's are read inline, see ``ExportRunner._rows``.
"""

from __future__ import annotations

from collections.abc import Generator
from concurrent.futures import Executor, Future
from contextlib import suppress
from typing import TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")


def prefetched(batches: Generator[T], reader: Executor) -> Generator[T]:
    """``batches``, each read on ``reader`` while the one before is consumed; closed (on
    ``reader``) when done or abandoned."""
    pending: Future[T | None] = reader.submit(next, batches, None)
    try:
        while (batch := pending.result()) is not None:
            pending = reader.submit(next, batches, None)
            yield batch
    finally:
        pending.cancel()
        with suppress(Exception):  # the reason the export stops is already on its way
            pending.result()  # wait until the read in flight is done
        reader.submit(batches.close).result()
