"""``verify`` in chunks: the log cut at multiples of 2**height seqs, each chunk read and
checked on its own — in worker processes when there are several — and merged in order.

A chunk comes back in one of three forms:

* :class:`Subtree` — every row is clean (seqs run on from the chunk's first, each leaf
  recomputed from the fields equals the stored ``leaf_hash``, each ``pii`` holds) and the
  chunk lies inside the integrated tree, whose stored tiles hold exactly the recomputed
  leaves and the nodes above them up to the chunk's root: what is left to check is the
  root (and, where a signed checkpoint ends inside the chunk, the nodes covering the
  chunk up to it), which :meth:`LogVerifier.feed_subtree` folds into the whole tree;
* :class:`Leaves` — every row is clean, and so are the tiles over the part that is
  integrated, but the chunk reaches beyond the tree: its leaf hashes go through
  :meth:`LogVerifier.feed_leaves`, one by one, as the one-pass check feeds them;
* :class:`Dirty` — anything else, which the coordinating process re-reads and checks row
  by row with :meth:`LogVerifier.run`.

Every finding therefore comes from the same code, in the same order, as a single pass
over the log would make it: a chunk is merged only once every chunk before it has been.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from hashlib import sha256
from itertools import islice
from multiprocessing.util import Finalize
from operator import itemgetter

from trailkeeper.events.leaves import ROW_COLUMNS, encode_rows
from trailkeeper.integrity.subtrees import cover, perfect_layers
from trailkeeper.integrity.tiles import TILE_HEIGHT, TILE_WIDTH
from trailkeeper.storage.rows import RowReader, RowSource
from trailkeeper.workerpool import in_order

__all__ = [
    "CHUNK_HEIGHT",
    "ChunkTask",
    "Dirty",
    "Leaves",
    "Outcome",
    "Subtree",
    "check_chunk",
    "chunk_outcomes",
    "plan_chunks",
]

CHUNK_HEIGHT = 12
"""Chunks of 4,096 seqs: whole tiles on tile levels 0, 1 and 2, one entry on level 3."""

_BATCH = 256
"""Rows checked at a time, from reading to hashing: while they are in the CPU's cache."""
_SEQ = ROW_COLUMNS.index("seq")
_LEAF = ROW_COLUMNS.index("leaf_hash")
_HASH = 32


@dataclass(frozen=True, slots=True)
class ChunkTask:
    tenant_id: int
    first: int
    """The chunk's first seq: a multiple of 2**height."""
    height: int
    integrated: int
    """The stored tree's size: nodes below it are compared with the stored tiles."""
    cuts: tuple[int, ...] = ()
    """Sizes of signed checkpoints strictly inside the chunk."""
    open_start: bool = False
    """Also rows below ``first``: the first chunk holds any negative seq."""
    open_end: bool = False
    """Also rows beyond the chunk: the last chunk holds anything above, numbers or not."""

    @property
    def end(self) -> int:
        return self.first + (1 << self.height)


@dataclass(frozen=True, slots=True)
class Subtree:
    first: int
    root: bytes
    covers: Mapping[int, tuple[bytes, ...]] = field(default_factory=dict)
    """Per checkpoint size inside the chunk: the chunk's nodes covering seqs up to it."""


@dataclass(frozen=True, slots=True)
class Leaves:
    first: int
    hashes: bytes
    """The rows' leaf hashes, concatenated."""


@dataclass(frozen=True, slots=True)
class Dirty:
    first: int


Outcome = Subtree | Leaves | Dirty


def plan_chunks(
    reader: RowReader, tenant_id: int, *, height: int, integrated: int, covered: int,
    checkpoints: Sequence[int], start: int = 0,
) -> Iterator[ChunkTask]:  # fmt: skip
    """Chunks from seq ``start`` (0, or where retention left the log) to past the last
    row: the first from 0 also takes rows below 0, the last anything beyond. Where the log
    ends is asked (again) on nearing it, so rows that arrive meanwhile, or that the tree
    does not cover yet, are read in chunks too. ``checkpoints``: the signed sizes,
    ascending."""
    size = 1 << height
    end = covered
    first = start - start % size
    while True:
        if first + size >= end:  # near the end known so far: where is it now?
            last = reader.last_seq(tenant_id)
            end = max(end, 0 if last is None else last + 1)
            if first + size >= end:
                break
        yield _task(tenant_id, first, height, integrated, checkpoints, open_start=first == 0)
        first += size
    yield _task(
        tenant_id, first, height, integrated, checkpoints, open_start=first == 0, open_end=True
    )


def _task(
    tenant_id: int, first: int, height: int, integrated: int, checkpoints: Sequence[int],
    *, open_start: bool, open_end: bool = False,
) -> ChunkTask:  # fmt: skip
    end = first + (1 << height)
    cuts = tuple(checkpoints[bisect_right(checkpoints, first) : bisect_left(checkpoints, end)])
    return ChunkTask(tenant_id, first, height, integrated, cuts, open_start, open_end)


def check_chunk(reader: RowReader, task: ChunkTask) -> Outcome:
    """Read one chunk and say whether it is clean (see the module's docstring)."""
    size = 1 << task.height
    first = task.first
    epoch, rows = reader.native_rows(
        task.tenant_id,
        None if task.open_start else first,
        None if task.open_end else task.end,
        size + 1,
    )
    hashes: list[bytes] = []
    seq_of, leaf_of = itemgetter(_SEQ), itemgetter(_LEAF)
    while batch := list(islice(rows, _BATCH)):  # each batch checked while in the CPU cache
        done = len(hashes)
        seqs = list(map(seq_of, batch))
        if (
            done + len(batch) > size
            or seqs != list(range(first + done, first + done + len(batch)))
            or set(map(type, seqs)) != {int}  # not 5.0 for 5
        ):
            return Dirty(first)
        encoded = encode_rows(batch, epoch)
        if encoded is None:
            return Dirty(first)
        batch_hashes = [sha256(b"\x00" + leaf).digest() for leaf in encoded]
        if batch_hashes != list(map(leaf_of, batch)):
            return Dirty(first)
        hashes += batch_hashes
    count = len(hashes)
    integrated = min(count, max(0, task.integrated - first))
    if count == size and integrated == size:
        return _subtree(reader, task, hashes)
    if integrated and _stored_nodes(reader, task.tenant_id, 0, first, integrated) != b"".join(
        hashes[:integrated]
    ):
        return Dirty(first)
    return Leaves(first, b"".join(hashes))


def _subtree(reader: RowReader, task: ChunkTask, hashes: list[bytes]) -> Outcome:
    """A clean chunk inside the tree: its levels must be the stored tiles' nodes."""
    layers = perfect_layers(hashes)
    for level in range(0, task.height + 1, TILE_HEIGHT):
        stored = _stored_nodes(
            reader, task.tenant_id, level, task.first >> level, len(layers[level])
        )
        if stored != b"".join(layers[level]):
            return Dirty(task.first)
    covers = {size: tuple(cover(layers, size - task.first)) for size in task.cuts}
    return Subtree(task.first, layers[-1][0], covers)


def _stored_nodes(reader: RowReader, tenant_id: int, level: int, first: int, count: int) -> bytes:
    """Stored nodes ``first .. first + count - 1`` of a tree level the tiles hold (a
    multiple of TILE_HEIGHT), concatenated; empty when any of them is missing."""
    lo = first >> TILE_HEIGHT
    hi = ((first + count - 1) >> TILE_HEIGHT) + 1
    tiles = reader.tiles(tenant_id, level // TILE_HEIGHT, lo, hi)
    parts = []
    for index in range(lo, hi):
        base = index << TILE_HEIGHT
        start = max(first, base) - base
        stop = min(first + count, base + TILE_WIDTH) - base
        part = tiles.get(index, b"")[start * _HASH : stop * _HASH]
        if len(part) != (stop - start) * _HASH:
            return b""
        parts.append(part)
    return b"".join(parts)


# worker processes -------------------------------------------------------------------
_readers: dict[RowSource, RowReader] = {}


def _check_in_worker(source: RowSource, task: ChunkTask) -> Outcome:
    """Runs in a worker process, which keeps one reader per source until it exits."""
    reader = _readers.get(source)
    if reader is None:
        reader = _readers[source] = source.open()
        Finalize(reader, reader.close, exitpriority=10)
    return check_chunk(reader, task)


def chunk_outcomes(
    tasks: Iterable[ChunkTask],
    reader: RowReader,
    source: RowSource,
    pool: Executor | None,
    depth: int,
) -> Generator[tuple[ChunkTask, Outcome], None, None]:
    """Each task with its outcome, in order: checked here with ``reader``, or in ``pool``
    (at most ``depth`` chunks ahead of the one being merged)."""
    if pool is None:
        for task in tasks:
            yield task, check_chunk(reader, task)
        return
    yield from in_order(pool, partial(_check_in_worker, source), tasks, depth)
