"""``trailkeeper verify``: re-check a tenant's whole stored log (CONTRACT sections 2 and 8).

The rows are checked in ``seq`` order, with memory O(log n) plus bounded buffers. The log is
read in aligned chunks (:mod:`~trailkeeper.service.verify_chunks`), in worker processes
when there are several: a chunk found clean there is merged at once, any other is read
again and checked row by row here, so findings are those of one pass over the rows:

* every row's leaf hash is recomputed from its stored fields and compared with its stored
  ``leaf_hash`` and with the leaf recorded in the Merkle tree's tiles when it was integrated;
  its ``pii`` commitment is recomputed from the personal data and ``pii_salt``;
* the ``seq`` column must run 0, 1, 2, … with no gap and no duplicate;
* the recomputed leaves are folded into a compact range; at each stored checkpoint's size the
  root must equal the root of that checkpoint, whose signature is checked with the verifier key;
  every node the stored tiles hold is compared with the recomputed one, and consecutive
  checkpoints are checked with a consistency proof built from the stored tiles, as the API
  serves it.

Problems are classified as ``altered``, ``missing``, ``inserted``, ``reordered``, ``truncated``
(rows deleted from the end), ``checkpoint`` (a stored checkpoint is not validly signed),
``tree`` (the stored Merkle tree is damaged although the events match the signed checkpoints)
and ``unreadable`` (a row the store cannot decode). Each names the first ``seq`` concerned.

A row whose fields were changed together with its stored ``leaf_hash`` still differs from the
leaf kept in the tree's tiles; if that leaf was rewritten too, the tile node above it and the
signed checkpoint no longer match, and the report names the seqs under that node (or, with
every tile rewritten, those between the last good checkpoint and the failing one).

For a bad row the tree is fed the leaf the tiles recorded for its position, so one bad row
does not hide the rest: the next checkpoint still checks every other row.

Known limits: rows that neither a checkpoint nor the integrated tree covers yet (the newest
few seconds) are checked against their own ``leaf_hash`` and ``pii`` only, so deleting the
newest of them, or appending a row that hashes correctly, goes unnoticed (the store exposes no
``next_seq`` to compare with); and an event without ``pii_salt`` and personal data is taken
as erased.

The classification is pure (:class:`LogVerifier` takes rows, checkpoints and a tile reader);
:func:`verify_tenant` wires it to a store.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from hashlib import sha256
from itertools import islice, pairwise
from multiprocessing import get_context
from typing import Any, Literal

import orjson

from trailkeeper.events.canonical import is_float_free
from trailkeeper.events.record import leaf_hash, pii_commitment
from trailkeeper.integrity import (
    EMPTY_ROOT,
    HASH_SIZE,
    IntegrityError,
    Verifier,
    consistency_plan,
    open_checkpoint,
    origin_for_tenant,
    range_nodes,
    verify_consistency,
)
from trailkeeper.integrity.tiles import TILE_HEIGHT, TILE_WIDTH, TileKey, node_from_tiles, tile_key
from trailkeeper.service.verify_chunks import (
    CHUNK_HEIGHT,
    ChunkTask,
    Leaves,
    Outcome,
    Subtree,
    chunk_outcomes,
    plan_chunks,
)
from trailkeeper.service.verify_retention import feed_removed
from trailkeeper.storage.protocols import CheckpointRecord, Store, Tenant, TreeState
from trailkeeper.storage.rows import RowReader, RowSource, scanned_view

__all__ = [
    "MAX_PROBLEMS",
    "LogVerifier",
    "Problem",
    "ProblemKind",
    "TrustedCheckpoint",
    "VerificationReport",
    "all_tenants",
    "check_checkpoints",
    "pii_problem",
    "recompute",
    "recompute_leaf",
    "verify_tenant",
]

View = dict[str, Any]
Row = tuple[View, bytes | None]
Computed = tuple[bytes | None, str | None, str | None]
Checked = tuple[View, bytes | None, Computed]
TileReader = Callable[[Iterable[TileKey]], Mapping[TileKey, bytes]]
ProgressCallback = Callable[[int], None]
ProblemKind = Literal[
    "altered", "missing", "inserted", "reordered", "truncated", "checkpoint", "tree", "unreadable"
]

MAX_PROBLEMS = 1000
"""Problems kept with their details; more are only counted (memory stays bounded)."""
REORDER_WINDOW = 16
"""A row that hashes correctly under a seq this close to its own is called reordered."""
TILE_BATCH = 256
"""Level-0 tiles (TILE_WIDTH leaf hashes each) read at a time."""
PROGRESS_EVERY = 8192
CHUNK_ROWS = 2048
"""Rows per chunk handed to a worker process."""
PARALLEL_MIN_ROWS = 50_000
"""Smaller logs are checked in-process: starting workers would cost more than it saves."""
MAX_GROUP = 64
"""Rows held at once for one seq; more are reported inserted at once (memory stays flat)."""
_CLASSIFY_LIMIT = 200
"""Beyond this many problems, stop the (costlier) search for where a row belongs."""


@dataclass(slots=True)
class Problem:
    """One finding. ``seq`` is the first seq concerned (None for the tree state as a whole)."""

    seq: int | None
    kind: ProblemKind
    message: str
    last_seq: int | None = None
    """Last seq concerned when the problem spans a range."""

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"seq": self.seq, "kind": self.kind, "message": self.message}
        if self.last_seq is not None and self.last_seq != self.seq:
            found["last_seq"] = self.last_seq
        return found


@dataclass(frozen=True, slots=True)
class TrustedCheckpoint:
    """A stored checkpoint whose signature verified: the size and root it signs."""

    size: int
    root: bytes


@dataclass(slots=True)
class VerificationReport:
    tenant: str
    events: int = 0
    """Stored rows read and re-hashed."""
    log_size: int = 0
    """Where the log ends: one past the last seq seen."""
    checkpoints: int = 0
    """Stored checkpoints."""
    checkpoints_signed: int = 0
    """Stored checkpoints whose signature verified with the verifier key."""
    checkpoints_verified: int = 0
    """Checkpoints whose signature verified and whose root matched the recomputed tree."""
    latest_checkpoint: int | None = None
    integrated: int = 0
    removed: int = 0
    """Events archived and deleted by retention: seqs 0 to ``removed - 1``."""
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self, limit: int = 20) -> dict[str, Any]:
        first = self.first_problem
        return {
            "tenant": self.tenant,
            "ok": self.ok,
            "events": self.events,
            "log_size": self.log_size,
            "checkpoints": self.checkpoints,
            "checkpoints_signed": self.checkpoints_signed,
            "checkpoints_verified": self.checkpoints_verified,
            "latest_checkpoint": self.latest_checkpoint,
            "removed_by_retention": None
            if not self.removed
            else {"events": self.removed, "first_seq": 0, "last_seq": self.removed - 1},
            "first_bad_seq": None if first is None else first.seq,
            "problem_count": self.problem_count,
            "problems": [p.as_dict() for p in self.problems[:limit]],
            "seconds": round(self.seconds, 3),
        }


def _sort_key(problem: Problem) -> tuple[bool, int]:
    return (problem.seq is None, problem.seq or 0)


@dataclass(slots=True)
class _Pending:
    """A leaf or node that differs from the tree recorded at integration while the row
    matches its own ``leaf_hash``: the event *or* the stored tree was changed. The next
    checkpoint decides which."""

    problem: Problem
    first: int
    last: int
    altered: str
    """The message when a signed checkpoint confirms the events changed."""
    damaged: str
    """The message when a signed checkpoint vouches for the events."""


def _float_free(view: View) -> bool:
    """Whether the leaf object holds no float, without walking all of it: every other part
    of a view comes from a text column (or is formatted to text), except ``seq``."""
    return type(view["seq"]) is int and is_float_free(
        [view["changes"], view["run"], view["metadata"]]
    )


def recompute_leaf(view: View) -> bytes:
    """The leaf hash of a stored row, from its fields (CONTRACT section 8)."""
    return leaf_hash(view, float_free=_float_free(view))


def pii_problem(view: View, salt: bytes | None) -> str | None:
    """Why the row's personal data does not match its ``pii`` commitment, or None."""
    actor = view["actor"]
    name, email, ip, agent = actor["name"], actor["email"], view["ip"], view["user_agent"]
    if salt is None:
        if name is None and email is None and ip is None and agent is None:
            return None  # erased: nothing left to check, the commitment stays in the leaf
        return "it carries personal data but no pii_salt, so its pii commitment cannot hold"
    try:
        expected = pii_commitment(salt.hex(), name=name, email=email, ip=ip, user_agent=agent)
    except Exception as exc:  # a tampered column may hold anything
        return f"its personal data cannot be encoded ({exc})"
    if expected != view["pii"]:
        return (
            "its personal data (actor.name, actor.email, ip, user_agent) no longer matches "
            "its pii commitment"
        )
    return None


def recompute(view: View, salt: bytes | None) -> Computed:
    """Everything a row's own fields say about it: its leaf hash (None with the reason when
    it cannot be computed) and what, if anything, is wrong with its personal data."""
    try:
        leaf: bytes | None = recompute_leaf(view)
        error = None
    except Exception as exc:  # a tampered column may hold anything
        leaf, error = None, f"{type(exc).__name__}: {exc}"
    try:
        personal = pii_problem(view, salt)
    except Exception as exc:
        personal = f"its personal data cannot be read ({type(exc).__name__}: {exc})"
    return leaf, error, personal


_ZERO = b"\x00" * HASH_SIZE
Chunk = tuple[bytes, dict[int, tuple[str | None, str | None]]]
"""Leaf hashes of a chunk of rows, concatenated, and the notes of the rows that have any."""


def _recompute_rows(rows: Iterable[tuple[View, bytes | None]]) -> Chunk:
    leaves = bytearray()
    notes: dict[int, tuple[str | None, str | None]] = {}
    for index, (view, salt) in enumerate(rows):
        leaf, error, personal = recompute(view, salt)
        leaves += _ZERO if leaf is None else leaf
        if error is not None or personal is not None:
            notes[index] = (error, personal)
    return bytes(leaves), notes


def _recompute_payload(payload: bytes) -> Chunk:
    """Worker side of :func:`_computed`: the rows come as JSON (cheaper than pickle)."""
    return _recompute_rows(
        (view, None if salt is None else bytes.fromhex(salt))
        for view, salt in orjson.loads(payload)
    )


def _submit(pool: Executor, chunk: list[Row]) -> Future[Chunk]:
    try:
        payload = orjson.dumps(
            [[view, None if salt is None else salt.hex()] for view, salt in chunk]
        )
    except (TypeError, orjson.JSONEncodeError):
        done: Future[Chunk] = Future()  # not JSON (a tampered column): check it here
        done.set_result(_recompute_rows(chunk))
        return done
    return pool.submit(_recompute_payload, payload)


def _computed(rows: Iterable[Row], pool: Executor | None, depth: int) -> Iterator[Checked]:
    """Rows with what their fields say, in order; with a pool, chunks are recomputed in
    other processes while this one reads on (at most ``depth`` chunks in flight)."""
    if pool is None:
        for view, salt in rows:
            yield view, salt, recompute(view, salt)
        return
    iterator = iter(rows)
    inflight: deque[tuple[list[Row], Future[Chunk]]] = deque()
    while True:
        chunk = list(islice(iterator, CHUNK_ROWS))
        if chunk:
            inflight.append((chunk, _submit(pool, chunk)))
        if not inflight:
            return
        if chunk and len(inflight) <= depth:
            continue
        done, future = inflight.popleft()
        leaves, notes = future.result()
        for index, (view, salt) in enumerate(done):
            note = notes.get(index)
            leaf: bytes | None = leaves[index * HASH_SIZE : (index + 1) * HASH_SIZE]
            if note is None:
                yield view, salt, (leaf, None, None)
            else:
                yield view, salt, (None if note[0] is not None else leaf, note[0], note[1])


def _describe(view: View) -> str:
    event_id = view.get("id")
    return f"id {event_id!r}" if event_id is not None else "no id"


def _gap(first: int, end: int) -> str:
    count = end - first
    return f"seq {first} is" if count == 1 else f"seqs {first}..{end - 1} ({count:,} rows) are"


class LogVerifier:
    """Checks one tenant's rows, given in ``seq`` order, against the trusted checkpoints and
    the stored tree. Feed rows with :meth:`run`, then read :meth:`finish`."""

    def __init__(
        self,
        *,
        checkpoints: Sequence[TrustedCheckpoint] = (),
        tree: TreeState | None = None,
        read_tiles: TileReader | None = None,
        max_problems: int = MAX_PROBLEMS,
    ) -> None:
        self._checkpoints = sorted(checkpoints, key=lambda c: c.size)
        self._cp_index = 0
        self._next_cp = self._checkpoints[0].size if self._checkpoints else -1
        self._tree = tree if tree is not None and tree.size > 0 else None
        self._integrated = 0 if self._tree is None else self._tree.size
        self._read_tiles = read_tiles if read_tiles is not None else (lambda keys: {})
        self._covered = max(self._integrated, *(c.size for c in self._checkpoints), 0)
        """Rows that must exist: the largest checkpoint or integrated tree seen."""
        self._last_cp_size = self._checkpoints[-1].size if self._checkpoints else 0
        self._max_problems = max_problems

        self.problems: list[Problem] = []
        self.problem_count = 0
        self.rows = 0
        self.checkpoints_verified = 0
        self._expected = 0
        # recomputed tree: compact range (largest subtree first)
        self._stack: list[bytes] = []
        self._size = 0
        self._desynced = False
        """The recomputed tree could not be realigned after a failed checkpoint."""
        self._interval_start = 0
        self._interval_guessed = False
        """A leaf fed since the last checkpoint is a guess, not known to be genuine."""
        self._guess_rest = False
        """The scan stopped early: what was not read is not reported as truncated."""
        self.matched: set[int] = set()
        """Sizes of the checkpoints whose root matched the recomputed tree."""
        self._pending: list[_Pending] = []
        self._last_diff = -1
        """Last position where the fed leaf differs from (or lacks) the stored tree's."""
        # level-0 tiles of the current batch, and the latest tile of each higher level
        self._tile_first = 0
        self._tile_blobs: list[bytes] = []
        self._reported_tiles: dict[int, int] = {}
        """Per tile level, the last tile reported missing (each is reported once)."""
        self._upper: dict[int, tuple[int, bytes]] = {}

    # problems -------------------------------------------------------------------------
    def _add(self, problem: Problem) -> Problem | None:
        self.problem_count += 1
        if len(self.problems) < self._max_problems:
            self.problems.append(problem)
            return problem
        return None

    def _row_problem(
        self, seq: int, kind: ProblemKind, message: str, last: int | None = None
    ) -> None:
        self._add(Problem(seq, kind, message, last))

    # rows -----------------------------------------------------------------------------
    def run(
        self,
        rows: Iterable[Row],
        progress: ProgressCallback | None = None,
        pool: Executor | None = None,
        depth: int = 2,
    ) -> None:
        """Check ``rows`` (``(view, pii_salt)`` in seq order, duplicates included); with a
        ``pool``, the leaf and pii recomputation runs in its worker processes."""
        group: list[Checked] = []
        group_seq: Any = None
        count = self.rows
        tick = count + PROGRESS_EVERY
        settle = self._settle
        for row in _computed(rows, pool, depth):
            seq = row[0]["seq"]
            if seq != group_seq or not group:
                if group:
                    settle(group_seq, group)
                group = [row]
                group_seq = seq
            else:
                if len(group) < MAX_GROUP:
                    group.append(row)
                else:  # a flood of rows under one seq: report, do not hold them
                    self._row_problem(
                        seq,
                        "inserted",
                        f"an extra row ({_describe(row[0])}) was inserted at seq {seq}",
                    )
            count += 1
            if count >= tick:
                self.rows = count
                tick = count + PROGRESS_EVERY
                if progress is not None:
                    progress(count)
        if group:
            settle(group_seq, group)
        self.rows = count
        if progress is not None:
            progress(count)

    def unreadable(self, error: BaseException) -> None:
        """The store could not decode the next row: report it where it should have been."""
        after = self._expected - 1
        where = "the first row" if after < 0 else f"the row after seq {after}"
        self._row_problem(
            self._expected,
            "unreadable",
            f"{where} cannot be read ({type(error).__name__}: {error}); it holds a value "
            "trailkeeper never writes, and the rest of the log was not checked",
        )
        self._guess_rest = True

    def _settle(self, seq: Any, group: list[Checked]) -> None:
        """Check the row(s) stored under one seq and feed the position's leaf to the tree."""
        expected = self._expected
        if type(seq) is not int or seq < expected:
            for view, _, _ in group:
                self._row_problem(
                    expected,
                    "inserted",
                    f"a row with seq {seq!r} ({_describe(view)}) was inserted before seq "
                    f"{expected}",
                )
            return
        if seq > expected:
            self._missing(expected, seq)
        if len(group) == 1:
            self._check_row(seq, *group[0])
        else:
            self._check_duplicates(seq, group)
        self._expected = seq + 1

    def _missing(self, first: int, end: int) -> None:
        self._row_problem(first, "missing", f"{_gap(first, end)} missing (deleted)", end - 1)
        # keep the recomputed tree aligned: the tree's own leaf where it has one
        for position in range(first, min(end, self._covered)):
            stored = self._stored_leaf(position) if position < self._integrated else None
            if stored is None:
                self._feed(b"\x00" * HASH_SIZE, guessed=True, diff=True)
            else:
                self._feed(stored)

    def _check_duplicates(self, seq: int, group: list[Checked]) -> None:
        """Several rows claim one seq: keep the one that is self-consistent (and matches the
        tree's leaf), call the others inserted."""
        stored = self._stored_leaf(seq) if seq < self._integrated else None
        scored = []
        for index, (view, _, (leaf, _, personal)) in enumerate(group):
            good = leaf is not None and leaf.hex() == view["leaf_hash"] and personal is None
            scored.append((not good, not (good and stored in (None, leaf)), index))
        genuine = group[min(scored)[2]]
        for other in group:
            if other is not genuine:
                self._row_problem(
                    seq,
                    "inserted",
                    f"an extra row ({_describe(other[0])}) was inserted at seq {seq}, beside "
                    f"the event {_describe(genuine[0])}",
                )
        self._check_row(seq, *genuine)

    def _check_row(self, seq: int, view: View, salt: bytes | None, computed: Computed) -> None:
        leaf, error, personal = computed
        stored_tree = self._stored_leaf(seq) if seq < self._integrated else None
        if leaf is not None and leaf.hex() == view["leaf_hash"]:
            if personal is not None:
                self._row_problem(seq, "altered", f"the event at seq {seq} was altered: {personal}")
            if stored_tree is None or stored_tree == leaf:
                self._feed(leaf, diff=seq < self._integrated and stored_tree is None)
                return
            # fields and leaf_hash agree but differ from the tree: both rewritten, or the
            # tree damaged; the next checkpoint tells which
            altered = (
                f"the event at seq {seq} ({_describe(view)}) was altered and its stored "
                "leaf_hash rewritten to match: both differ from the leaf recorded in the "
                "Merkle tree when it was integrated"
            )
            damaged = f"the stored Merkle tree's leaf for seq {seq} is damaged"
            problem = self._add(Problem(seq, "altered", altered))
            if problem is not None:  # beyond the cap it is only counted
                self._pending.append(_Pending(problem, seq, seq, altered, damaged))
            self._feed(leaf, diff=True)
            return
        # the row does not hash to its own leaf_hash
        try:
            stored_row: bytes | None = bytes.fromhex(view["leaf_hash"])
        except (TypeError, ValueError):
            stored_row = None
        belongs = self._belongs_at(seq, view, stored_row) if stored_row is not None else None
        if belongs is not None:
            self._row_problem(
                seq,
                "reordered",
                f"the row at seq {seq} holds the event of seq {belongs} ({_describe(view)}): "
                "rows were moved",
            )
        else:
            if error is not None:
                reason = f"its fields cannot be encoded ({error})"
            elif stored_tree is not None and leaf == stored_tree:
                reason = "its stored leaf_hash was changed (its fields still match the tree)"
            else:
                reason = "its fields no longer hash to its leaf_hash"
                if stored_tree is not None and stored_row != stored_tree:
                    reason += ", and its leaf_hash was changed too"
            if seq >= self._last_cp_size:
                reason += " (not yet covered by a checkpoint)"
            self._row_problem(
                seq, "altered", f"the event at seq {seq} ({_describe(view)}) was altered: {reason}"
            )
            if personal is not None:
                self._row_problem(seq, "altered", f"the event at seq {seq} was altered: {personal}")
        # feed what the position held as far as anything stored says: the tree's leaf,
        # a guess only when neither the fields nor the leaf_hash column agree with it
        if stored_tree is not None:
            unsure = belongs is None and stored_tree != leaf and stored_tree != stored_row
            self._feed(stored_tree, guessed=unsure)
        elif stored_row is not None and len(stored_row) == HASH_SIZE and belongs is None:
            self._feed(stored_row, guessed=True, diff=seq < self._integrated)
        else:
            self._feed(b"\x00" * HASH_SIZE, guessed=True, diff=seq < self._integrated)

    def _belongs_at(self, seq: int, view: View, stored_row: bytes) -> int | None:
        """The other seq under which this row's fields hash to its stored leaf_hash."""
        if self.problem_count > _CLASSIFY_LIMIT:
            return None
        candidates: list[int] = []
        found = self._find_in_tiles(stored_row)
        if found is not None and found != seq:
            candidates.append(found)
        for distance in range(1, REORDER_WINDOW + 1):
            candidates.extend(q for q in (seq - distance, seq + distance) if q >= 0)
        for other in candidates:
            try:
                if recompute_leaf({**view, "seq": other}) == stored_row:
                    return other
            except Exception:
                return None
        return None

    def _find_in_tiles(self, digest: bytes) -> int | None:
        for offset, blob in enumerate(self._tile_blobs):
            at = blob.find(digest)
            while at >= 0:
                if at % HASH_SIZE == 0:
                    return (self._tile_first + offset) * TILE_WIDTH + at // HASH_SIZE
                at = blob.find(digest, at + 1)
        return None

    # the stored tree ------------------------------------------------------------------
    def _stored_leaf(self, position: int) -> bytes | None:
        """The leaf hash the tree's tiles recorded for ``position`` (None: not stored)."""
        tile = position >> TILE_HEIGHT
        offset = tile - self._tile_first
        if not 0 <= offset < len(self._tile_blobs):
            offset = tile % TILE_BATCH  # windows at fixed places, whatever was read before
            self._load_tiles(tile - offset)
        blob = self._tile_blobs[offset]
        at = (position & (TILE_WIDTH - 1)) * HASH_SIZE
        found = blob[at : at + HASH_SIZE]
        if len(found) == HASH_SIZE:
            return found
        if position < self._integrated and self._reported_tiles.get(0) != tile:
            self._reported_tiles[0] = tile
            self._add(
                Problem(
                    position,
                    "tree",
                    f"the stored Merkle tree lacks the leaf of seq {position} (tile 0/{tile} "
                    "is missing or short): proofs over it cannot be served",
                )
            )
        return None

    def _load_tiles(self, first: int) -> None:
        last = min(first + TILE_BATCH, (self._integrated + TILE_WIDTH - 1) >> TILE_HEIGHT)
        keys = [(0, index) for index in range(first, max(last, first + 1))]
        read = self._read_tiles(keys)
        self._tile_first = first
        self._tile_blobs = [read.get(key, b"") for key in keys]

    def _stored_node(self, level: int, index: int) -> bytes | None:
        tile_level = level // TILE_HEIGHT
        tile = index >> TILE_HEIGHT
        cached = self._upper.get(tile_level)
        if cached is None or cached[0] != tile:
            key = (tile_level, tile)
            cached = (tile, self._read_tiles([key]).get(key, b""))
            self._upper[tile_level] = cached
        at = (index & (TILE_WIDTH - 1)) * HASH_SIZE
        found = cached[1][at : at + HASH_SIZE]
        return found if len(found) == HASH_SIZE else None

    def _check_node(self, level: int, index: int, digest: bytes) -> None:
        first = index << level
        end = (index + 1) << level
        if end > self._integrated:
            return
        stored = self._stored_node(level, index)
        if stored == digest:
            return
        if self._last_diff >= first:
            return  # explained by a leaf (or lower node) already found to differ
        self._last_diff = end - 1
        if stored is None:
            key = (level // TILE_HEIGHT, index >> TILE_HEIGHT)
            if self._reported_tiles.get(key[0]) != key[1]:
                self._reported_tiles[key[0]] = key[1]
                self._add(
                    Problem(
                        first,
                        "tree",
                        f"the stored Merkle tree lacks the node over seqs {first}..{end - 1} "
                        f"(tile {key[0]}/{key[1]} is missing or short)",
                        end - 1,
                    )
                )
            return
        span = f"seqs {first}..{end - 1}"
        altered = (
            f"an event in {span} was altered, with its leaf_hash and the Merkle tree's leaf "
            f"rewritten to match: the stored tree node over {span} differs from the one "
            "recomputed from the events"
        )
        damaged = f"the stored Merkle tree's node over {span} is damaged"
        problem = self._add(Problem(first, "altered", altered, end - 1))
        if problem is not None:
            self._pending.append(_Pending(problem, first, end - 1, altered, damaged))

    def _feed(self, leaf: bytes, *, guessed: bool = False, diff: bool = False) -> None:
        """Append the leaf of the next position; beyond what was integrated or signed there
        is nothing to compare the tree with, so nothing is computed."""
        if self._size >= self._covered:
            return
        if guessed:
            self._interval_guessed = True
        index = self._size
        if diff:
            self._last_diff = index
        stack = self._stack
        digest = leaf
        level = 0
        while index & 1:
            digest = sha256(b"\x01" + stack.pop() + digest).digest()
            index >>= 1
            level += 1
            if not level % TILE_HEIGHT:
                self._check_node(level, index, digest)
        stack.append(digest)
        self._size += 1
        if self._size == self._next_cp:
            self._at_checkpoint(self._root())
        if self._size == self._integrated and self._tree is not None:
            self._check_tree_state(self._tree)

    def _root(self, more: Sequence[bytes] = ()) -> bytes:
        """The recomputed tree's root; with ``more``, of the tree that these perfect
        subtrees (largest first) extend."""
        stack = [*self._stack, *more]
        if not stack:
            return EMPTY_ROOT
        digest = stack[-1]
        for left in reversed(stack[:-1]):
            digest = sha256(b"\x01" + left + digest).digest()
        return digest

    def _at_checkpoint(self, root: bytes) -> None:
        checkpoint = self._checkpoints[self._cp_index]
        self._cp_index += 1
        self._next_cp = (
            self._checkpoints[self._cp_index].size
            if self._cp_index < len(self._checkpoints)
            else -1
        )
        size = checkpoint.size
        pending = [p for p in self._pending if p.first < size]
        self._pending = [p for p in self._pending if p.first >= size]
        if self._desynced:
            return
        if root == checkpoint.root:
            self.checkpoints_verified += 1
            self.matched.add(size)
            for item in pending:  # the events are genuine: the stored tree is what changed
                item.problem.kind = "tree"
                item.problem.message = (
                    f"{item.damaged} (the events match the signed checkpoint of size {size})"
                )
        else:
            for item in pending:
                item.problem.message = (
                    f"{item.altered}; the signed checkpoint of size {size} confirms it"
                )
            if not pending and not self._interval_guessed:
                start = self._interval_start
                self._add(
                    Problem(
                        start,
                        "altered",
                        f"the signed checkpoint of size {size} does not match the stored "
                        f"events: an event in seqs {start}..{size - 1} was altered and its "
                        "leaf_hash and the stored Merkle tree rewritten to match",
                        size - 1,
                    )
                )
            self._resync(size, checkpoint.root)
        self._interval_start = size
        self._interval_guessed = False

    def _resync(self, size: int, root: bytes) -> None:
        """After a mismatch, continue from the stored tree's edge if it matches the signed
        root, so later checkpoints still check later events on their own."""
        nodes = range_nodes(0, size)
        try:
            tiles = self._read_tiles({tile_key(n) for n in nodes})
            edge = [node_from_tiles(n, tiles) for n in nodes]
        except IntegrityError:
            self._desynced = True
            return
        digest = edge[-1]
        for left in reversed(edge[:-1]):
            digest = sha256(b"\x01" + left + digest).digest()
        if digest == root:
            self._stack = edge
        else:
            self._desynced = True

    def _check_tree_state(self, tree: TreeState) -> None:
        if self._last_diff >= 0 or self._desynced or self._interval_guessed:
            return  # the recomputed tree already differs for reasons reported
        if self._root() != tree.root or tuple(self._stack) != tuple(tree.edge):
            self._add(
                Problem(
                    None,
                    "tree",
                    f"the stored tree state (size {tree.size}) does not match the tree "
                    "recomputed from the events: integration would continue from a damaged edge",
                )
            )

    # chunks checked elsewhere --------------------------------------------------------
    def feed_subtree(
        self, first: int, height: int, root: bytes, covers: Mapping[int, Sequence[bytes]]
    ) -> bool:
        """Take the 2**height rows from seq ``first`` at once: rows found clean, inside the
        integrated tree, whose stored tiles hold exactly their recomputed subtree, of
        which ``root`` is the root and ``covers`` the nodes up to each checkpoint inside.

        The state afterwards is the one feeding each row would leave. False, with nothing
        changed, where that cannot be done at once (the rows do not follow on, or a
        checkpoint inside does not match): the caller then feeds the rows themselves."""
        end = first + (1 << height)
        if (
            self._guess_rest
            or self._expected != first
            or self._size != first
            or first & ((1 << height) - 1)
            or end > self._integrated
        ):
            return False
        roots = []
        index, size = self._cp_index, self._next_cp
        while first < size < end:
            nodes = covers.get(size)
            if nodes is None:
                return False
            root_at = self._root(nodes)
            if not self._desynced and root_at != self._checkpoints[index].root:
                return False  # the one-pass check reports and resyncs: let it
            roots.append(root_at)
            index += 1
            size = self._checkpoints[index].size if index < len(self._checkpoints) else -1
        for root_at in roots:
            self._at_checkpoint(root_at)
        stack = self._stack
        digest, index, level = root, first >> height, height
        while index & 1:
            digest = sha256(b"\x01" + stack.pop() + digest).digest()
            index >>= 1
            level += 1
            if not level % TILE_HEIGHT:
                self._check_node(level, index, digest)
        stack.append(digest)
        self._size = self._expected = end
        self.rows += end - first
        if self._size == self._next_cp:
            self._at_checkpoint(self._root())
        if self._size == self._integrated and self._tree is not None:
            self._check_tree_state(self._tree)
        return True

    def feed_leaves(self, first: int, hashes: bytes) -> bool:
        """Take rows from seq ``first`` on, found clean (each one's leaf equal to its
        ``leaf_hash`` and to the leaf the tiles recorded, its pii holding), by their leaf
        hashes: what checking each row would do. False, with nothing changed, when they
        do not follow on."""
        if self._guess_rest or self._expected != first:
            return False
        count = len(hashes) // HASH_SIZE
        feed = self._feed
        for at in range(0, count * HASH_SIZE, HASH_SIZE):
            feed(hashes[at : at + HASH_SIZE])
        self._expected = first + count
        self.rows += count
        return True

    # end ------------------------------------------------------------------------------
    def finish(self) -> list[Problem]:
        """Close the check: a log shorter than what was integrated or signed lost its tail."""
        for item in self._pending:
            item.problem.message += (
                " (no signed checkpoint covers it yet, so the stored tree may be what changed)"
            )
        self._pending = []
        end = self._expected
        if end < self._covered and not self._guess_rest:
            by = (
                f"the signed checkpoint of size {self._last_cp_size}"
                if self._last_cp_size == self._covered
                else f"the Merkle tree integrated up to size {self._covered}"
            )
            self._add(
                Problem(
                    end,
                    "truncated",
                    ("no row is left" if end == 0 else f"the log ends after seq {end - 1}")
                    + f" but {by} covers {self._covered:,} events: "
                    f"{_gap(end, self._covered)} missing (deleted from the end)",
                    self._covered - 1,
                )
            )
        self.problems.sort(key=_sort_key)
        return self.problems

    @property
    def log_size(self) -> int:
        return self._expected

    @property
    def integrated(self) -> int:
        """The size of the stored tree the rows are compared with."""
        return self._integrated

    @property
    def covered(self) -> int:
        """Rows that must exist: up to the largest checkpoint or integrated tree."""
        return self._covered


def check_checkpoints(
    records: Sequence[CheckpointRecord], verifier: Verifier, tenant: str
) -> tuple[list[TrustedCheckpoint], list[Problem], int]:
    """Verify every stored checkpoint's signature and origin, and that the stored size and
    root are those the note signs. Returns what they sign (by size), the problems, and how
    many were validly signed."""
    origin = origin_for_tenant(tenant)
    trusted: list[TrustedCheckpoint] = []
    problems: list[Problem] = []
    signed_count = 0
    for record in records:
        try:
            signed = open_checkpoint(record.note, verifier, origin=origin)
        except IntegrityError as exc:
            problems.append(
                Problem(
                    None,
                    "checkpoint",
                    f"the stored checkpoint of size {record.size} is not validly signed by "
                    f"{verifier.name}+{verifier.key_id:08x} for {origin}: {exc}",
                )
            )
            continue
        signed_count += 1
        if signed.size != record.size or signed.root_hash != record.root:
            problems.append(
                Problem(
                    None,
                    "checkpoint",
                    f"the stored checkpoint of size {record.size} has a size or root column that "
                    f"differs from its signed note (size {signed.size})",
                )
            )
        trusted.append(TrustedCheckpoint(signed.size, signed.root_hash))
    unique = {c.size: c for c in trusted}
    return sorted(unique.values(), key=lambda c: c.size), problems, signed_count


def _consistency_problems(
    store: Store, tenant_id: int, checkpoints: Sequence[TrustedCheckpoint], matched: set[int]
) -> Iterator[Problem]:
    """Consecutive checkpoints that both match the events must also be consistent by a proof
    built from the stored tiles, exactly as ``GET /v1/proofs/consistency`` serves it."""
    for first, second in pairwise(checkpoints):
        if first.size not in matched or second.size not in matched:
            continue  # already reported: a root that does not match the events
        plan = consistency_plan(first.size, second.size)
        try:
            tiles = store.read_tiles(tenant_id, {tile_key(n) for n in plan.node_ids})
            proof = plan.assemble([node_from_tiles(n, tiles) for n in plan.node_ids])
            verify_consistency(first.size, second.size, proof, first.root, second.root)
        except IntegrityError as exc:
            yield Problem(
                None,
                "tree",
                f"no valid consistency proof from checkpoint {first.size} to {second.size} can "
                f"be built from the stored Merkle tree: {exc}",
            )


MAX_TENANT_ID_GAP = 100


def all_tenants(store: Store) -> Iterator[Tenant]:
    """Every tenant, by id. The store protocol lists none; ids are dense (SQLite row ids, a
    PostgreSQL identity), but a failed insert can leave holes in an identity, so only a long
    run of unknown ids ends the walk."""
    tenant_id, misses = 1, 0
    while misses < MAX_TENANT_ID_GAP:
        tenant = store.tenant_by_id(tenant_id)
        if tenant is None:
            misses += 1
        else:
            misses = 0
            yield tenant
        tenant_id += 1


class _Guarded:
    """The store's rows, stopping (and keeping the error) where a row cannot be decoded."""

    def __init__(self, rows: Iterator[Row]) -> None:
        self._rows = rows
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[Row]:
        rows = self._rows
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
                self.error = exc
                return
            yield row

    def close(self) -> None:
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()


def _removed(store: Store, tenant_id: int, source: Any, checker: LogVerifier) -> int:
    """How many events retention removed, their leaves fed from the tiles (fewer when the
    tiles do not hold them all: the rows are then checked from there)."""
    removed = store.retention_state(tenant_id).removed_through + 1
    if removed <= 0 or source is None:
        return 0
    reader = source().open()
    try:
        return feed_removed(reader, tenant_id, checker, removed)
    finally:
        reader.close()


def _verify_scan(
    scan: Iterator[Row],
    checker: LogVerifier,
    progress: ProgressCallback | None,
    pool: Executor | None,
    workers: int,
) -> None:
    rows = _Guarded(scan)
    try:
        checker.run(rows, progress, pool, depth=2 * workers)
    finally:
        rows.close()
    if rows.error is not None:
        checker.unreadable(rows.error)


def _verify_chunks(
    source: RowSource,
    tenant_id: int,
    checker: LogVerifier,
    trusted: Sequence[TrustedCheckpoint],
    progress: ProgressCallback | None,
    pool: Executor | None,
    workers: int,
    start: int = 0,
) -> None:
    """Merge the chunks' outcomes in seq order; a chunk not found clean is read again here
    and checked row by row."""
    reader = source.open()
    try:
        tasks = plan_chunks(
            reader,
            tenant_id,
            height=CHUNK_HEIGHT,
            integrated=checker.integrated,
            covered=checker.covered,
            checkpoints=[c.size for c in trusted],
            start=start,
        )
        outcomes = chunk_outcomes(tasks, reader, source, pool, depth=2 * max(1, workers))
        try:
            for task, outcome in outcomes:
                if not _merged(checker, task, outcome) and not _rows_checked(checker, reader, task):
                    break
                if progress is not None:
                    progress(checker.rows)
        finally:
            outcomes.close()
    finally:
        reader.close()


def _merged(checker: LogVerifier, task: ChunkTask, outcome: Outcome) -> bool:
    if isinstance(outcome, Subtree):
        return checker.feed_subtree(task.first, task.height, outcome.root, outcome.covers)
    if isinstance(outcome, Leaves):
        return checker.feed_leaves(task.first, outcome.hashes)
    return False


def _rows_checked(checker: LogVerifier, reader: RowReader, task: ChunkTask) -> bool:
    """Check a chunk's rows one by one; False when one cannot be read (then the rest of
    the log is not checked, as in one pass)."""
    first = None if task.open_start else task.first
    end = None if task.open_end else task.end
    rows = _Guarded(_views(reader.rows(task.tenant_id, first, end)))
    try:
        checker.run(rows)
    finally:
        rows.close()
    if rows.error is not None:
        checker.unreadable(rows.error)
        return False
    return True


def _views(rows: Iterator[tuple[Any, ...]]) -> Iterator[Row]:
    try:
        for row in rows:
            yield scanned_view(row)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def verify_tenant(
    store: Store,
    tenant: Tenant,
    verifier: Verifier,
    progress: ProgressCallback | None = None,
    *,
    workers: int = 0,
    pool: Executor | None = None,
    max_problems: int = MAX_PROBLEMS,
) -> VerificationReport:
    """Re-check one tenant's whole stored log: rows, tree and signed checkpoints.

    The log is checked in chunks (``verify_chunks``); with ``pool`` (``workers`` processes,
    see :func:`~trailkeeper.service.verify_chunks.verification_pool`), or with ``workers``
    > 0 and a large log, in worker processes while this one merges their findings."""
    started = time.perf_counter()
    # what was signed and integrated is read before the rows, so every row it covers is
    # in the store when the rows are read, even while events keep arriving
    records = store.checkpoints(tenant.id)
    tree = store.tree_state(tenant.id)
    trusted, problems, signed = check_checkpoints(records, verifier, tenant.name)
    checker = LogVerifier(
        checkpoints=trusted,
        tree=tree,
        read_tiles=lambda keys: store.read_tiles(tenant.id, keys),
        max_problems=max_problems,
    )
    covered = max(tree.size, *(c.size for c in trusted), 0)
    own_pool = None
    if pool is None and workers > 0 and covered >= PARALLEL_MIN_ROWS:
        # spawn, not fork: this process may hold database connections and their threads
        pool = own_pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
    try:
        source = getattr(store, "row_source", None)
        removed = _removed(store, tenant.id, source, checker)
        if source is None:  # a store that only scans: one pass
            _verify_scan(store.scan(tenant.id), checker, progress, pool, workers)
        else:
            tasks = (source(), tenant.id, checker, trusted, progress, pool, workers, removed)
            _verify_chunks(*tasks)
    finally:
        if own_pool is not None:
            own_pool.shutdown(cancel_futures=True)
    problems.extend(checker.finish())
    problems.extend(_consistency_problems(store, tenant.id, trusted, checker.matched))
    problems.sort(key=_sort_key)
    return VerificationReport(
        tenant=tenant.name,
        events=checker.rows - removed,
        removed=removed,
        log_size=checker.log_size,
        checkpoints=len(records),
        checkpoints_signed=signed,
        checkpoints_verified=checker.checkpoints_verified,
        latest_checkpoint=records[-1].size if records else None,
        integrated=tree.size,
        problems=problems[:max_problems],
        problem_count=checker.problem_count + len(problems) - len(checker.problems),
        seconds=time.perf_counter() - started,
    )
