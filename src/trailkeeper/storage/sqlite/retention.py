"""SQLite: retention policies and runs, and erasure jobs.

Expired events leave by dropping whole month tables where every row in them is archived
(``months.py``); what is left of a partly expired month, and erasures, go in bounded
batches, each its own short write transaction, so that ingest, which waits for the same
single writer, waits a few milliseconds at most per batch."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from trailkeeper.events.timestamps import from_micros, to_micros
from trailkeeper.storage.exportrows import ExportRow
from trailkeeper.storage.removal import DictionaryRemoval, Removed
from trailkeeper.storage.retention import ErasureRecord, PolicyRecord, RetentionState
from trailkeeper.storage.rows import RowSource
from trailkeeper.storage.sqlite.connections import (
    WAL_AUTOCHECKPOINT_PAGES,
    SQLiteConnections,
)
from trailkeeper.storage.sqlite.monthdrops import drop_expired_months
from trailkeeper.storage.sqlite.months import drop_empty, holding, runner
from trailkeeper.storage.sqlite.named import QUERIES as Q

__all__ = ["SQLiteRetention"]

_DICTIONARIES = DictionaryRemoval(Q)
_CHUNK_SECONDS = 0.002
"""What one ``DELETE`` statement should take: ingest that comes meanwhile waits that long
(and for the commit). Chunks are sized from the time the last ones took per row."""
_TRANSACTION_SECONDS = 0.01
"""How long a delete transaction goes on, chunk after chunk, while no ingest waits."""
_MIN_BATCH = 16
_YIELD_AT_MOST = 0.05  # seconds a delete waits for queued ingest batches
_YIELD_STEP = 0.0005


def _now() -> int:
    return to_micros(datetime.now(UTC))


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else from_micros(micros)


def _erasure(row: Sequence[Any]) -> ErasureRecord:
    return ErasureRecord(
        row[0], row[1], row[2], row[3], row[4], row[5], from_micros(row[6]),
        row[7], row[8], row[9], _moment(row[10]), _moment(row[11]),
    )  # fmt: skip


class SQLiteRetention:
    def row_source(self) -> RowSource:  # the store's
        raise NotImplementedError

    conns: SQLiteConnections

    _delete_cost = 20e-6  # seconds per deleted row, as last measured

    def _ingest_waiting(self) -> bool:
        """Whether an ingest batch is queued for the writer (the store answers)."""
        return False

    # policies ---------------------------------------------------------------
    def retention_policy(self, tenant_id: int) -> PolicyRecord | None:
        row = self.conns.connection().execute(Q["retention_policy"], (tenant_id,)).fetchone()
        return None if row is None else PolicyRecord(row[0], bool(row[1]), bool(row[2]))

    def put_retention_policy(self, tenant_id: int, policy: PolicyRecord) -> None:
        with self.conns.write() as conn:
            conn.execute(
                Q["put_retention_policy"],
                (tenant_id, policy.days, policy.archive, policy.legal_hold, _now()),
            )

    # runs ---------------------------------------------------------------------
    def retention_state(self, tenant_id: int) -> RetentionState:
        row = self.conns.connection().execute(Q["retention_state"], (tenant_id,)).fetchone()
        if row is None:
            return RetentionState()
        return RetentionState(row[0], row[1], _moment(row[2]), row[3], _moment(row[4]))

    def retention_due(self, now: datetime, everyone: bool) -> list[int]:
        at = to_micros(now)
        rows = self.conns.connection().execute(Q["retention_due"], (at, at, everyone))
        return [int(r[0]) for r in rows]

    def claim_retention(self, tenant_id: int, worker: str, lease_seconds: float) -> bool:
        now = _now()
        with self.conns.write() as conn:
            conn.execute(Q["start_retention_state"], (tenant_id,))
            cursor = conn.execute(
                Q["claim_retention"],
                (worker, now + int(lease_seconds * 1e6), tenant_id, now, worker),
            )
        return cursor.rowcount == 1

    def finish_retention(
        self, tenant_id: int, worker: str, error: str | None, next_run_at: datetime
    ) -> None:
        with self.conns.write() as conn:
            conn.execute(
                Q["finish_retention"],
                (_now(), error, to_micros(next_run_at), tenant_id, worker),
            )

    def received_at(self, tenant_id: int, seq: int) -> int | None:
        row = self.conns.connection().execute(Q["received_at_micros"], (tenant_id, seq)).fetchone()
        return None if row is None else int(row[0])

    def archive_rows(
        self, tenant_id: int, first: int, last: int, batch_rows: int
    ) -> Generator[list[ExportRow]]:
        reader = self.row_source().open()  # the archive's reader (``rowscan.py``)
        try:
            yield from reader.archive_rows(tenant_id, first, last, batch_rows)
        finally:
            reader.close()

    def mark_archived(
        self, tenant_id: int, worker: str, through: int, lease_seconds: float
    ) -> bool:
        with self.conns.write() as conn:
            cursor = conn.execute(
                Q["mark_archived"],
                (through, _now() + int(lease_seconds * 1e6), tenant_id, worker),
            )
        return cursor.rowcount == 1

    def drop_partitions(self) -> int:
        return drop_expired_months(self.conns, self._let_ingest_go)

    def remove_events(self, tenant_id: int, worker: str, limit: int, lease_seconds: float) -> int:
        self._let_ingest_go()
        # Not fsynced: if the commit is lost in a crash, the rows and the progress
        # that says they are gone come back together, and the next run deletes them.
        chunk = min(limit, max(_MIN_BATCH, int(_CHUNK_SECONDS / self._delete_cost)))
        with self._no_autocheckpoint(), self.conns.write(durable=False) as conn:
            row = conn.execute(Q["removal_progress"], (tenant_id, worker)).fetchone()
            if row is None or row[2]:
                return 0  # the lease was lost, or a legal hold arrived meanwhile
            archived, removed, _ = row
            first = removed + 1
            if min(archived, removed + limit) < first:
                return 0
            gone = Removed()
            end = min(archived, removed + limit)
            tables = list(holding(conn, tenant_id, first, end))
            last = self._delete_chunks(conn, tables, tenant_id, (first, end), chunk, gone)
            drop_empty(conn, tables)
            run, run_many = runner(conn)
            _DICTIONARIES.subtract(run, run_many, tenant_id, gone)
            conn.execute(
                Q["mark_removed"],
                (last, _now() + int(lease_seconds * 1e6), tenant_id),
            )
        assert gone.events <= last - first + 1
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # see _no_autocheckpoint
        return int(last - first + 1)  # seqs now gone (the log is gapless)

    def _let_ingest_go(self) -> None:
        """Ingest first: a batch queued for the writer goes before the next delete
        transaction (which stops for the next one that comes, see :meth:`_delete_chunks`)."""
        yield_until = time.monotonic() + _YIELD_AT_MOST
        while self._ingest_waiting() and time.monotonic() < yield_until:
            time.sleep(_YIELD_STEP)

    def _delete_chunks(
        self, conn: sqlite3.Connection, tables: list[str], tenant_id: int,
        span: tuple[int, int], chunk: int, gone: Removed,
    ) -> int:  # fmt: skip
        """Delete seqs of ``span`` from ``tables`` (those that hold some of them) a
        ``chunk`` at a time, in the caller's transaction, until
        an ingest batch waits for the writer or the transaction has taken
        ``_TRANSACTION_SECONDS``: the last seq deleted. One transaction of many chunks
        writes each index page it touches once, where one per chunk rewrote the same
        pages again and again; ingest that comes meanwhile still waits one chunk (and
        the commit)."""
        first, end = span
        started = time.perf_counter()  # the writer is ours
        last, spent = first - 1, 0.0
        while last < end:
            upto = min(end, last + chunk)
            for table in tables:
                sql = Q["remove_events"].format(table=table)
                gone.add(conn.execute(sql, (tenant_id, last + 1, upto)).fetchall())
            last = upto
            spent = time.perf_counter() - started
            if self._ingest_waiting() or spent >= _TRANSACTION_SECONDS:
                break
        self._delete_cost = (self._delete_cost + spent / (last - first + 1)) / 2
        return last

    @contextmanager
    def _no_autocheckpoint(self) -> Iterator[None]:
        """Delete commits leave the WAL as it is; the deleting thread copies it back after
        each of them, outside the write lock (``remove_events``). Deletes dirty several
        index pages per row; left in the WAL, they cost ingest twice: its fsync'd commit
        flushes them to disk, and once the WAL holds ``wal_autocheckpoint`` pages some
        commit copies it all back inside the write lock, tens of milliseconds while every
        writer waits. A passive checkpoint after each delete syncs the WAL, copies it
        back beside writers, and lets the next writer start the WAL over."""
        conn = self.conns.connection(durable=False)
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            yield
        finally:
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")

    # erasures -------------------------------------------------------------------
    def actor_event_count(self, tenant_id: int, actor_id: str) -> int | None:
        conn = self.conns.connection()
        row = conn.execute(Q["actor_event_count"], (tenant_id, actor_id)).fetchone()
        return None if row[0] == 0 else int(row[1])

    def create_erasure(self, record: ErasureRecord) -> ErasureRecord:
        with self.conns.write() as conn:
            conn.execute(
                Q["queue_erasure"],
                (record.id, record.tenant_id, record.actor_id, record.token_id,
                 record.token_name, to_micros(record.requested_at), record.events_total),
            )  # fmt: skip
            row = conn.execute(Q["open_erasure"], (record.tenant_id, record.actor_id)).fetchone()
        return _erasure(row)

    def get_erasure(self, tenant_id: int, erasure_id: str) -> ErasureRecord | None:
        row = self.conns.connection().execute(Q["get_erasure"], (tenant_id, erasure_id)).fetchone()
        return None if row is None else _erasure(row)

    def claim_erasure(self, worker: str, lease_seconds: float) -> ErasureRecord | None:
        now = _now()
        waiting = self.conns.connection().execute(Q["erasure_waiting"]).fetchone()
        if waiting is None:  # the usual case, answered without taking the writer's lock
            return None
        with self.conns.write() as conn:
            row = conn.execute(
                Q["claim_erasure"],
                (worker, now + int(lease_seconds * 1e6), now, now),
            ).fetchone()
        return None if row is None else _erasure(row)

    def erase_batch(
        self, erasure_id: str, worker: str, limit: int, lease_seconds: float
    ) -> ErasureRecord | None:
        now = _now()
        with self.conns.write() as conn:
            row = conn.execute(
                Q["renew_erasure_lease"],
                (now + int(lease_seconds * 1e6), erasure_id, worker),
            ).fetchone()
            if row is None:
                return None
            tenant_id, actor_id, after = row
            seqs = conn.execute(
                Q["actor_seqs_after"], (tenant_id, actor_id, after, limit)
            ).fetchall()
            erased = 0
            if seqs:
                after = seqs[-1][0]
                for table in holding(conn, tenant_id, seqs[0][0], after):
                    erased += conn.execute(
                        Q["erase_events"].format(table=table), (tenant_id, actor_id, row[2], after)
                    ).rowcount
            done = len(seqs) < limit
            if done:
                _DICTIONARIES.scrub_actor(runner(conn)[0], tenant_id, actor_id)
                conn.execute(Q["optimize_actor_search"])
            updated = conn.execute(
                Q["erasure_progress"],
                (after, erased, "erased" if done else "running", now if done else None,
                 erasure_id),
            ).fetchone()  # fmt: skip
        return _erasure(updated)

    def finish_erasure(self, erasure_id: str, worker: str) -> bool:
        with self.conns.write() as conn:
            cursor = conn.execute(Q["finish_erasure"], (erasure_id, worker))
        return cursor.rowcount == 1
