"""A JSON Lines file (plain or gzip) to ready batches, in worker processes when asked.

``trailkeeper ingest`` reads the file here in chunks of up to ``MAX_BATCH`` non-blank
lines (an ingest batch each). :func:`prepare` turns a chunk into a
:class:`~trailkeeper.storage.ready.ReadyBatch` — parse, validate, normalize, encode
the leaf pieces, build the rows — or names what is wrong with it; the process that holds
the store then only sequences, inserts and commits. With a pool, chunks are prepared in
worker processes a few ahead of the writer and come back in file order, so what is
stored, and every message, is what one process would have made (a fresh ``pii`` salt
per event either way)."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, cast

from trailkeeper.errors import InvalidRequest, TrailkeeperError
from trailkeeper.events.batch import MAX_BATCH, drafts_from_events
from trailkeeper.events.body import GZIP_MAGIC, parse_json
from trailkeeper.storage.ready import OccurredForm, ReadyBatch, ready_batch
from trailkeeper.workerpool import in_order

__all__ = ["BadBatch", "BadLine", "Chunk", "Outcome", "chunks", "prepare", "prepared"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """Non-blank lines of the file, with their (1-based) line numbers."""

    numbers: list[int]
    lines: list[bytes]


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not a JSON value the API would take (as ``parse_json`` says)."""

    line: int
    message: str


@dataclass(frozen=True, slots=True)
class BadBatch:
    """A chunk whose events failed validation: the error's message and details (each
    detail's ``index`` is the event's place in the chunk)."""

    message: str
    details: list[dict[str, Any]]


Outcome = ReadyBatch | BadLine | BadBatch


def chunks(path: Path, read: Callable[[int], None], size: int = MAX_BATCH) -> Iterator[Chunk]:
    """The file's non-blank lines, ``size`` at a time; ``read(offset)`` is told how far
    into the file (its compressed bytes, for a gzip file) reading has come, every 1,000
    lines and once at the end."""
    numbers: list[int] = []
    lines: list[bytes] = []
    with path.open("rb") as raw:
        zipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        handle = cast(IO[bytes], gzip.GzipFile(fileobj=raw) if zipped else raw)
        for number, line in enumerate(handle, start=1):
            if number % 1000 == 0:
                read(raw.tell())
            if not line.strip():
                continue
            numbers.append(number)
            lines.append(line)
            if len(lines) == size:
                yield Chunk(numbers, lines)
                numbers, lines = [], []
    if lines:
        yield Chunk(numbers, lines)
    read(path.stat().st_size)


def prepare(tenant_id: int, form: OccurredForm, chunk: Chunk) -> Outcome:
    """The chunk's ready batch; or its first line that is not JSON; or, when every line
    parses, every problem of its events (``drafts_from_events``)."""
    events = []
    for number, line in zip(chunk.numbers, chunk.lines, strict=True):
        try:
            events.append(parse_json(line, "the line"))
        except InvalidRequest as exc:
            return BadLine(number, exc.message)
    try:
        drafts = drafts_from_events(events)
    except TrailkeeperError as exc:
        return BadBatch(exc.message, exc.details)
    return ready_batch(tenant_id, drafts, form)


def prepared(
    source: Iterator[Chunk],
    tenant_id: int,
    form: OccurredForm,
    pool: tuple[Executor, int] | None = None,
) -> Generator[tuple[Chunk, Outcome]]:
    """Each chunk with its :func:`prepare` outcome, in file order: here, one by one,
    without a pool; else in the pool's processes (``(pool, ahead)``), up to ``ahead``
    chunks in flight or done beyond the one the caller waits for (enough that no worker
    idles while the caller writes; few enough to bound memory: a chunk and its batch take
    ~2 MB). Closing the iterator early cancels what has not started."""
    if pool is None:
        for chunk in source:
            yield chunk, prepare(tenant_id, form, chunk)
        return
    executor, ahead = pool
    yield from in_order(executor, partial(prepare, tenant_id, form), source, ahead)
