"""``verify`` for one tenant, wired to a store: what was signed and integrated is read
first, then the log in aligned chunks (:mod:`~trailkeeper.verify.chunks`), in worker
processes when a pool is given. A chunk found clean there is merged at once; any other is
read again and checked row by row here, so the findings are those of one pass over the rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Protocol

from trailkeeper.integrity import Verifier
from trailkeeper.storage.protocols import CheckpointRecord, TreeState
from trailkeeper.storage.retention import RetentionState
from trailkeeper.storage.rows import RowReader, RowSource
from trailkeeper.storage.tenants import Tenant
from trailkeeper.verify import chunks
from trailkeeper.verify.checkpoints import check_checkpoints, consistency_problems
from trailkeeper.verify.chunks import ChunkTask, Leaves, Outcome, Subtree, chunk_outcomes
from trailkeeper.verify.removed import feed_removed
from trailkeeper.verify.report import MAX_PROBLEMS, TrustedCheckpoint, VerificationReport, by_seq
from trailkeeper.verify.rows import GuardedRows, stored_rows
from trailkeeper.verify.walker import LogVerifier, ProgressCallback

__all__ = ["VerifiedStore", "verify_tenant"]


class VerifiedStore(Protocol):
    """What ``verify`` reads from a store."""

    def checkpoints(self, tenant_id: int) -> list[CheckpointRecord]: ...

    def tree_state(self, tenant_id: int) -> TreeState: ...

    def read_tiles(
        self, tenant_id: int, keys: Iterable[tuple[int, int]]
    ) -> Mapping[tuple[int, int], bytes]: ...

    def row_source(self) -> RowSource: ...

    def retention_state(self, tenant_id: int) -> RetentionState: ...


def verify_tenant(
    store: VerifiedStore,
    tenant: Tenant,
    verifier: Verifier,
    progress: ProgressCallback | None = None,
    *,
    pool: Executor | None = None,
    workers: int = 1,
    max_problems: int = MAX_PROBLEMS,
) -> VerificationReport:
    """Re-check one tenant's whole stored log: rows, tree and signed checkpoints; with a
    ``pool`` of ``workers`` processes (:func:`~trailkeeper.workerpool.worker_pool`),
    the chunks are read and checked there while this process merges their findings."""
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
    depth = 2 * max(1, workers)
    source = store.row_source()
    removed = _removed(store, source, tenant.id, checker)
    _check_chunks(source, tenant.id, checker, trusted, progress, pool, depth, removed)
    problems.extend(checker.finish())
    problems.extend(consistency_problems(store, tenant.id, trusted, checker.matched))
    problems.sort(key=by_seq)
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


def _check_chunks(
    source: RowSource,
    tenant_id: int,
    checker: LogVerifier,
    trusted: Sequence[TrustedCheckpoint],
    progress: ProgressCallback | None,
    pool: Executor | None,
    depth: int,
    start: int = 0,
) -> None:
    """Merge the chunks' outcomes in seq order; a chunk not found clean is read again here
    and checked row by row."""
    reader = source.open()
    try:
        tasks = chunks.plan_chunks(
            reader,
            tenant_id,
            height=chunks.CHUNK_HEIGHT,
            integrated=checker.integrated,
            covered=checker.covered,
            checkpoints=[c.size for c in trusted],
            start=start,
        )
        outcomes = chunk_outcomes(tasks, reader, source, pool, depth=depth)
        try:
            for task, outcome in outcomes:
                if not merged_at_once(checker, task, outcome) and not readable_row_by_row(
                    checker, reader, task
                ):
                    break
                if progress is not None:
                    progress(checker.rows)
        finally:
            outcomes.close()
    finally:
        reader.close()


def _removed(store: VerifiedStore, source: RowSource, tenant_id: int, checker: LogVerifier) -> int:
    """How many events retention removed, their leaves fed from the tiles (fewer when the
    tiles do not hold them all: the rows are then checked from there)."""
    removed = store.retention_state(tenant_id).removed_through + 1
    if removed <= 0:
        return 0
    reader = source.open()
    try:
        return feed_removed(reader, tenant_id, checker, removed)
    finally:
        reader.close()


def merged_at_once(checker: LogVerifier, task: ChunkTask, outcome: Outcome) -> bool:
    """Whether a clean chunk's outcome could be taken without its rows."""
    if isinstance(outcome, Subtree):
        return checker.feed_subtree(task.first, task.height, outcome.root, outcome.covers)
    if isinstance(outcome, Leaves):
        return checker.feed_leaves(task.first, outcome.hashes)
    return False


def readable_row_by_row(checker: LogVerifier, reader: RowReader, task: ChunkTask) -> bool:
    """Check a chunk's rows one by one; whether every row could be read (when one cannot,
    the rest of the log is not checked, as in one pass)."""
    first = None if task.open_start else task.first
    end = None if task.open_end else task.end
    rows = GuardedRows(stored_rows(reader.rows(task.tenant_id, first, end)))
    try:
        checker.run(rows)
    finally:
        rows.close()
    if rows.error is not None:
        checker.unreadable(rows.error)
        return False
    return True
