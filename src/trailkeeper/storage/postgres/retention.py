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
from trailkeeper.storage.postgres.partitions import drop_expired_partitions
from trailkeeper.storage.removal import (
    ERASE_COLUMNS,
    REMOVED_COLUMNS,
    DictionaryRemoval,
    Removed,
)
from trailkeeper.storage.retention import ErasureRecord, PolicyRecord, RetentionState
from trailkeeper.storage.rows import RowSource

__all__ = ["PostgresRetention"]

_DICTIONARIES = DictionaryRemoval("%s", arrays=True)
_ERASURE = (
    "id, tenant_id, actor_id, token_id, token_name, status, requested_at, events_total, "
    "events_erased, after_seq, started_at, completed_at"
)


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
            row = conn.execute(
                "SELECT days, archive, legal_hold FROM retention_policies WHERE tenant_id = %s",
                (tenant_id,),
            ).fetchone()
        return None if row is None else PolicyRecord(*row)

    def put_retention_policy(self, tenant_id: int, policy: PolicyRecord) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO retention_policies (tenant_id, days, archive, legal_hold) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (tenant_id) DO UPDATE SET "
                "days = excluded.days, archive = excluded.archive, "
                "legal_hold = excluded.legal_hold, updated_at = now()",
                (tenant_id, policy.days, policy.archive, policy.legal_hold),
            )

    # runs ---------------------------------------------------------------------
    def retention_state(self, tenant_id: int) -> RetentionState:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT archived_through, removed_through, last_run_at, last_error, "
                "next_run_at FROM retention_state WHERE tenant_id = %s",
                (tenant_id,),
            ).fetchone()
        if row is None:
            return RetentionState()
        return RetentionState(*row)

    def retention_due(self, now: datetime, everyone: bool) -> list[int]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT t.id FROM tenants t LEFT JOIN retention_state s ON s.tenant_id = t.id "
                "LEFT JOIN retention_policies p ON p.tenant_id = t.id "
                "WHERE coalesce(s.next_run_at, '-infinity') <= %s "
                "AND coalesce(s.lease_until, '-infinity') < now() "
                "AND (p.days IS NOT NULL OR (p.tenant_id IS NULL AND %s)) ORDER BY t.id",
                (now, everyone),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def claim_retention(self, tenant_id: int, worker: str, lease_seconds: float) -> bool:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO retention_state (tenant_id) VALUES (%s) ON CONFLICT DO NOTHING",
                (tenant_id,),
            )
            cursor = conn.execute(
                "UPDATE retention_state SET worker = %s, lease_until = %s WHERE tenant_id = %s "
                "AND (lease_until IS NULL OR lease_until < now() OR worker = %s)",
                (worker, _lease(lease_seconds), tenant_id, worker),
            )
        return cursor.rowcount == 1

    def finish_retention(
        self, tenant_id: int, worker: str, error: str | None, next_run_at: datetime
    ) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE retention_state SET last_run_at = now(), last_error = %s, "
                "next_run_at = %s, worker = NULL, lease_until = NULL "
                "WHERE tenant_id = %s AND worker = %s",
                (error, next_run_at, tenant_id, worker),
            )

    def received_at(self, tenant_id: int, seq: int) -> int | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT (extract(epoch FROM received_at) * 1000000)::int8 FROM events "
                "WHERE tenant_id = %s AND seq = %s",
                (tenant_id, seq),
            ).fetchone()
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
                "UPDATE retention_state SET archived_through = greatest(archived_through, %s), "
                "lease_until = %s WHERE tenant_id = %s AND worker = %s",
                (through, _lease(lease_seconds), tenant_id, worker),
            )
        return cursor.rowcount == 1

    def drop_partitions(self) -> int:
        removed = drop_expired_partitions(self.pool)
        if removed:
            self._partitions.clear()  # a dropped month is made again if written to
        return removed

    def remove_events(self, tenant_id: int, worker: str, limit: int, lease_seconds: float) -> int:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "SELECT s.archived_through, s.removed_through, coalesce(p.legal_hold, false) "
                "FROM retention_state s LEFT JOIN retention_policies p USING (tenant_id) "
                "WHERE s.tenant_id = %s AND s.worker = %s FOR UPDATE OF s",
                (tenant_id, worker),
            ).fetchone()
            if row is None or row[2]:
                return 0  # the lease was lost, or a legal hold arrived meanwhile
            archived, removed, _ = row
            first, last = removed + 1, min(archived, removed + limit)
            if last < first:
                return 0
            gone = Removed()
            gone.add(conn.execute(
                "DELETE FROM events WHERE tenant_id = %s AND seq >= %s AND seq <= %s "
                f"RETURNING {REMOVED_COLUMNS}",
                (tenant_id, first, last),
            ).fetchall())  # fmt: skip
            run, run_many = runner(conn)
            _DICTIONARIES.subtract(run, run_many, tenant_id, gone)
            conn.execute(
                "UPDATE retention_state SET removed_through = %s, lease_until = %s "
                "WHERE tenant_id = %s",
                (last, _lease(lease_seconds), tenant_id),
            )
        return int(last - first + 1)

    # erasures -------------------------------------------------------------------
    def actor_event_count(self, tenant_id: int, actor_id: str) -> int | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT count(*), sum(events) FROM actor_texts "
                "WHERE tenant_id = %s AND actor_id = %s",
                (tenant_id, actor_id),
            ).fetchone()
        assert row is not None
        return None if row[0] == 0 else int(row[1])

    def create_erasure(self, record: ErasureRecord) -> ErasureRecord:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO erasures (id, tenant_id, actor_id, token_id, token_name, status, "
                "requested_at, events_total) VALUES (%s, %s, %s, %s, %s, 'queued', %s, %s) "
                "ON CONFLICT (tenant_id, actor_id) WHERE status IN ('queued', 'running', 'erased') "
                "DO NOTHING",
                (record.id, record.tenant_id, record.actor_id, record.token_id,
                 record.token_name, record.requested_at, record.events_total),
            )  # fmt: skip
            row = conn.execute(
                f"SELECT {_ERASURE} FROM erasures WHERE tenant_id = %s AND actor_id = %s "
                "AND status IN ('queued', 'running', 'erased')",
                (record.tenant_id, record.actor_id),
            ).fetchone()
        assert row is not None
        return _erasure(row)

    def get_erasure(self, tenant_id: int, erasure_id: str) -> ErasureRecord | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT {_ERASURE} FROM erasures WHERE tenant_id = %s AND id = %s",
                (tenant_id, erasure_id),
            ).fetchone()
        return None if row is None else _erasure(row)

    def claim_erasure(self, worker: str, lease_seconds: float) -> ErasureRecord | None:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "UPDATE erasures SET worker = %s, lease_until = %s, "
                "status = CASE status WHEN 'erased' THEN status ELSE 'running' END, "
                "started_at = coalesce(started_at, now()) WHERE id = (SELECT id FROM erasures "
                "WHERE status = 'queued' "
                "OR (status IN ('running', 'erased') AND lease_until < now()) "
                f"ORDER BY requested_at FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING {_ERASURE}",
                (worker, _lease(lease_seconds)),
            ).fetchone()
        return None if row is None else _erasure(row)

    def erase_batch(
        self, erasure_id: str, worker: str, limit: int, lease_seconds: float
    ) -> ErasureRecord | None:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "UPDATE erasures SET lease_until = %s WHERE id = %s AND worker = %s "
                "AND status = 'running' RETURNING tenant_id, actor_id, after_seq",
                (_lease(lease_seconds), erasure_id, worker),
            ).fetchone()
            if row is None:
                return None
            tenant_id, actor_id, after = row
            seqs = conn.execute(
                "SELECT seq FROM events WHERE tenant_id = %s AND actor_id = %s AND seq > %s "
                "ORDER BY seq LIMIT %s",
                (tenant_id, actor_id, after, limit),
            ).fetchall()
            done = len(seqs) < limit
            if done:  # hold the tenant's writers off while the dictionaries are scrubbed
                conn.execute("SELECT 1 FROM tenants WHERE id = %s FOR UPDATE", (tenant_id,))
            upper = None if done else seqs[-1][0]
            erased = conn.execute(
                f"UPDATE events SET {ERASE_COLUMNS} WHERE tenant_id = %s AND actor_id = %s "
                "AND seq > %s AND (%s::int8 IS NULL OR seq <= %s) RETURNING seq",
                (tenant_id, actor_id, after, upper, upper),
            ).fetchall()
            after = max([after, *(r[0] for r in erased)])
            if done:
                _DICTIONARIES.scrub_actor(runner(conn)[0], tenant_id, actor_id)
            updated = conn.execute(
                "UPDATE erasures SET after_seq = %s, events_erased = events_erased + %s, "
                "status = %s, completed_at = CASE WHEN %s THEN now() END WHERE id = %s "
                f"RETURNING {_ERASURE}",
                (after, len(erased), "erased" if done else "running", done, erasure_id),
            ).fetchone()
        assert updated is not None
        return _erasure(updated)

    def finish_erasure(self, erasure_id: str, worker: str) -> bool:
        with self.pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE erasures SET status = 'succeeded', worker = NULL, lease_until = NULL "
                "WHERE id = %s AND worker = %s AND status = 'erased'",
                (erasure_id, worker),
            )
        return cursor.rowcount == 1
