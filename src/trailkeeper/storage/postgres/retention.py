"""PostgreSQL: retention policies and runs, and erasure jobs.

Expired events leave by dropping whole monthly partitions where every row in them is
archived (``partitions.py``); what is left of a partly expired month is deleted in
bounded batches. Writers of other tenants never wait: each batch locks only the
rows it deletes or erases."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import Connection
from psycopg_pool import ConnectionPool

from trailkeeper.storage.exportrows import ExportRow
from trailkeeper.storage.postgres.named import QUERIES as Q
from trailkeeper.storage.postgres.partitions import drop_expired_partitions
from trailkeeper.storage.removal import DictionaryRemoval, Removed
from trailkeeper.storage.retention import ErasureRecord, PolicyRecord, RetentionState
from trailkeeper.storage.rows import RowSource

__all__ = ["PostgresRetention"]

_DICTIONARIES = DictionaryRemoval(Q, arrays=True)


def _lease(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _erasure(row: Sequence[Any]) -> ErasureRecord:
    return ErasureRecord(*row)


def runner(conn: Connection[Any]) -> tuple[Any, Any]:
    """(run, run_many) over ``conn``, in the shape :class:`DictionaryRemoval` takes."""

    def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        cursor = conn.execute(sql.encode(), params)
        return cursor.fetchall() if cursor.description is not None else []

    def run_many(sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with conn.cursor() as cur:
                cur.executemany(sql.encode(), rows)

    return run, run_many


class PostgresRetention:
    def row_source(self) -> RowSource:  # the store's
        raise NotImplementedError

    pool: ConnectionPool
    _partitions: set[datetime]  # the months this process made sure exist

    # policies ---------------------------------------------------------------
    def retention_policy(self, tenant_id: int) -> PolicyRecord | None:
        with self.pool.connection() as conn:
            row = conn.execute(Q["retention_policy"], (tenant_id,)).fetchone()
        return None if row is None else PolicyRecord(*row)

    def put_retention_policy(self, tenant_id: int, policy: PolicyRecord) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                Q["put_retention_policy"],
                (tenant_id, policy.days, policy.archive, policy.legal_hold),
            )

    # runs ---------------------------------------------------------------------
    def retention_state(self, tenant_id: int) -> RetentionState:
        with self.pool.connection() as conn:
            row = conn.execute(Q["retention_state"], (tenant_id,)).fetchone()
        if row is None:
            return RetentionState()
        return RetentionState(*row)

    def retention_due(self, now: datetime, everyone: bool) -> list[int]:
        with self.pool.connection() as conn:
            rows = conn.execute(Q["retention_due"], (now, everyone)).fetchall()
        return [int(r[0]) for r in rows]

    def claim_retention(self, tenant_id: int, worker: str, lease_seconds: float) -> bool:
        with self.pool.connection() as conn:
            conn.execute(Q["start_retention_state"], (tenant_id,))
            cursor = conn.execute(
                Q["claim_retention"], (worker, _lease(lease_seconds), tenant_id, worker)
            )
        return cursor.rowcount == 1

    def finish_retention(
        self, tenant_id: int, worker: str, error: str | None, next_run_at: datetime
    ) -> None:
        with self.pool.connection() as conn:
            conn.execute(Q["finish_retention"], (error, next_run_at, tenant_id, worker))

    def received_at(self, tenant_id: int, seq: int) -> int | None:
        with self.pool.connection() as conn:
            row = conn.execute(Q["received_at_micros"], (tenant_id, seq)).fetchone()
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
        with self.pool.connection() as conn:
            cursor = conn.execute(
                Q["mark_archived"], (through, _lease(lease_seconds), tenant_id, worker)
            )
        return cursor.rowcount == 1

    def drop_partitions(self) -> int:
        removed = drop_expired_partitions(self.pool)
        if removed:
            self._partitions.clear()  # a dropped month is made again if written to
        return removed

    def remove_events(self, tenant_id: int, worker: str, limit: int, lease_seconds: float) -> int:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(Q["removal_progress"], (tenant_id, worker)).fetchone()
            if row is None or row[2]:
                return 0  # the lease was lost, or a legal hold arrived meanwhile
            archived, removed, _ = row
            first, last = removed + 1, min(archived, removed + limit)
            if last < first:
                return 0
            gone = Removed()
            gone.add(conn.execute(Q["remove_events"], (tenant_id, first, last)).fetchall())
            run, run_many = runner(conn)
            _DICTIONARIES.subtract(run, run_many, tenant_id, gone)
            conn.execute(Q["mark_removed"], (last, _lease(lease_seconds), tenant_id))
        return int(last - first + 1)

    # erasures -------------------------------------------------------------------
    def actor_event_count(self, tenant_id: int, actor_id: str) -> int | None:
        with self.pool.connection() as conn:
            row = conn.execute(Q["actor_event_count"], (tenant_id, actor_id)).fetchone()
        assert row is not None
        return None if row[0] == 0 else int(row[1])

    def create_erasure(self, record: ErasureRecord) -> ErasureRecord:
        with self.pool.connection() as conn:
            conn.execute(
                Q["queue_erasure"],
                (record.id, record.tenant_id, record.actor_id, record.token_id,
                 record.token_name, record.requested_at, record.events_total),
            )  # fmt: skip
            row = conn.execute(Q["open_erasure"], (record.tenant_id, record.actor_id)).fetchone()
        assert row is not None
        return _erasure(row)

    def get_erasure(self, tenant_id: int, erasure_id: str) -> ErasureRecord | None:
        with self.pool.connection() as conn:
            row = conn.execute(Q["get_erasure"], (tenant_id, erasure_id)).fetchone()
        return None if row is None else _erasure(row)

    def claim_erasure(self, worker: str, lease_seconds: float) -> ErasureRecord | None:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(Q["claim_erasure"], (worker, _lease(lease_seconds))).fetchone()
        return None if row is None else _erasure(row)

    def erase_batch(
        self, erasure_id: str, worker: str, limit: int, lease_seconds: float
    ) -> ErasureRecord | None:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                Q["renew_erasure_lease"], (_lease(lease_seconds), erasure_id, worker)
            ).fetchone()
            if row is None:
                return None
            tenant_id, actor_id, after = row
            seqs = conn.execute(
                Q["actor_seqs_after"], (tenant_id, actor_id, after, limit)
            ).fetchall()
            done = len(seqs) < limit
            if done:  # hold the tenant's writers off while the dictionaries are scrubbed
                conn.execute(Q["lock_tenant"], (tenant_id,))
            upper = None if done else seqs[-1][0]
            erased = conn.execute(
                Q["erase_events"], (tenant_id, actor_id, after, upper, upper)
            ).fetchall()
            after = max([after, *(r[0] for r in erased)])
            if done:
                _DICTIONARIES.scrub_actor(runner(conn)[0], tenant_id, actor_id)
            updated = conn.execute(
                Q["erasure_progress"],
                (after, len(erased), "erased" if done else "running", done, erasure_id),
            ).fetchone()
        assert updated is not None
        return _erasure(updated)

    def finish_erasure(self, erasure_id: str, worker: str) -> bool:
        with self.pool.connection() as conn:
            cursor = conn.execute(Q["finish_erasure"], (erasure_id, worker))
        return cursor.rowcount == 1
