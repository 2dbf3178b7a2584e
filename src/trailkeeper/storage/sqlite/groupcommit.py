"""Group commit: batches that arrive while another is being written share its successor's
transaction, and so one fsync and one write of each index page they both touch.

A durable SQLite commit costs an fsync of everything the transaction wrote to the WAL, and
an ingest batch writes a page per distinct actor, resource, ip… in each index: most of the
cost of a batch is its commit. Each caller queues its batch, then takes the write lock. The
first to get it (the leader) writes every queued batch, each inside its own ``SAVEPOINT``,
so a batch that fails (a conflicting id) is rolled back alone and the others stand; then it
commits once and hands each caller its own result. A caller whose batch a leader already
wrote finds it done when it gets the lock, and returns without a transaction of its own.

Nothing is answered before the commit that holds it returns (durable as before); batches
are applied one after the other in one connection, so each sees the ones before it (gapless
``seq``, idempotent ids across the group).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from trailkeeper.storage.sqlite.connections import SQLiteConnections

__all__ = ["MAX_GROUP", "GroupCommit"]

MAX_GROUP = 16
"""At most this many batches in one transaction (bounds a response's wait)."""

T = TypeVar("T")
R = TypeVar("R")


class _Pending(Generic[T, R]):
    __slots__ = ("done", "error", "request", "result")

    def __init__(self, request: T) -> None:
        self.request = request
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Runs ``apply(conn, request)`` for each submitted request, several per transaction."""

    def __init__(
        self,
        conns: SQLiteConnections,
        apply: Callable[[sqlite3.Connection, T], R],
        apply_group: Callable[[sqlite3.Connection, list[T]], list[R | Exception]] | None = None,
    ) -> None:
        self.conns = conns
        self.apply = apply
        self.apply_group = apply_group
        """Writes a whole group at once, each request's result or the exception that
        refuses it alone; on a database error the group is written the reference way."""
        self.declined = 0  # groups written the reference way after apply_group failed
        self._queue: list[_Pending[T, R]] = []
        self._queue_lock = threading.Lock()
        self._callers = 0  # in run() and not yet through

    def waiting(self) -> bool:
        """Whether a batch waits for the writer now (a hint for other writers that can
        wait: ingest goes first)."""
        return bool(self._queue) or self._callers > 0

    def submit(self, request: T) -> R:
        """``apply``'s result for ``request`` once it is committed, or its exception."""
        pending: _Pending[T, R] = _Pending(request)
        with self._queue_lock:
            self._queue.append(pending)
        with self.conns.write_lock:
            if not pending.done:
                self._lead(pending)
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]  # R, set by _lead

    def run(self, requests: Sequence[T]) -> list[R | Exception]:
        """Every request in one transaction (and batches queued by other threads meanwhile,
        up to ``MAX_GROUP``): each one's result, or the exception that refused it alone.
        For a caller that gathers requests itself (the API's ingest queue)."""
        group: list[_Pending[T, R]] = [_Pending(r) for r in requests]
        with self._queue_lock:
            self._callers += 1
        try:
            with self.conns.write_lock:
                with self._queue_lock:
                    group += self._queue[:MAX_GROUP]
                    del self._queue[:MAX_GROUP]
                self._write(group)
        finally:
            with self._queue_lock:
                self._callers -= 1
        results: list[R | Exception] = []
        for pending in group[: len(requests)]:
            if isinstance(pending.error, Exception):
                results.append(pending.error)
            else:
                results.append(pending.result)  # type: ignore[arg-type]  # R, set by _write
        return results

    def _lead(self, own: _Pending[T, R]) -> None:
        """Write ``own`` batch and up to ``MAX_GROUP - 1`` queued ones, and commit."""
        with self._queue_lock:
            self._queue.remove(own)
            group = [own, *self._queue[: MAX_GROUP - 1]]
            del self._queue[: MAX_GROUP - 1]
        self._write(group)

    def _write(self, group: list[_Pending[T, R]]) -> None:
        """Apply each request of ``group`` in its own savepoint, commit once; the caller
        holds the write lock."""
        conn = self.conns.connection()
        try:
            with self.conns.transaction(conn):
                if self._write_together(conn, group):
                    return
                for pending in group:
                    conn.execute("SAVEPOINT batch")
                    try:
                        pending.result = self.apply(conn, pending.request)
                    except Exception as exc:
                        conn.execute("ROLLBACK TO batch")
                        pending.error = exc
                    conn.execute("RELEASE batch")
        except BaseException as exc:  # no batch of the group is stored
            for pending in group:
                pending.result = None
                pending.error = pending.error or exc
            raise
        finally:
            for pending in group:
                pending.done = True

    def _write_together(self, conn: sqlite3.Connection, group: list[_Pending[T, R]]) -> bool:
        """``apply_group`` inside a savepoint; ``False`` (nothing written) if it failed."""
        if self.apply_group is None:
            return False
        conn.execute("SAVEPOINT together")
        try:
            results = self.apply_group(conn, [pending.request for pending in group])
        except Exception:
            self.declined += 1
            conn.execute("ROLLBACK TO together")
            conn.execute("RELEASE together")
            return False
        conn.execute("RELEASE together")
        for pending, result in zip(group, results, strict=True):
            if isinstance(result, Exception):
                pending.error = result
            else:
                pending.result = result
        return True
