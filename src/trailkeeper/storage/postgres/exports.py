"""PostgreSQL: export jobs, their quotas, the webhook queue, and the rows exports read.

Any number of ``serve``/``worker`` processes claim work here: ``FOR UPDATE SKIP
LOCKED`` hands each job (or webhook) to one of them, and a lease that runs out
hands a dead worker's job to another."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any, cast

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from trailkeeper.events.query import EventQuery
from trailkeeper.storage.exportrows import ExportRow, export_select
from trailkeeper.storage.postgres.named import QUERIES as Q
from trailkeeper.storage.protocols import ExportRecord, NewDelivery, WebhookDelivery

__all__ = ["PostgresExports"]

EXPORT_COLUMNS = (
    "id, tenant_id, token_id, status, spec, webhook_url, created_at, started_at, "
    "completed_at, attempts, event_count, bytes, sha256, error, object_key, manifest_key"
)
WEEK = timedelta(days=7)
"""Date ranges up to this long are sorted (few rows), longer ones walked in seq order
(``SHORT_RANGE`` of the store's pages)."""
_DELIVERY_COLUMNS = "id, tenant_id, url, payload, created_at, attempts"


def export_record(row: Sequence[Any]) -> ExportRecord:
    return ExportRecord(
        id=row[0],
        tenant_id=int(row[1]),
        token_id=row[2],
        status=row[3],
        spec=dict(row[4]),
        webhook_url_sealed=None if row[5] is None else bytes(row[5]),
        created_at=row[6],
        started_at=row[7],
        completed_at=row[8],
        attempts=int(row[9]),
        event_count=row[10],
        bytes=row[11],
        sha256=row[12],
        error=row[13],
        object_key=row[14],
        manifest_key=row[15],
    )


def _lease(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


class PostgresExports:
    pool: ConnectionPool

    def _export_batches(
        self, tenant_id: int, where: str, params: list[Any], query: EventQuery, batch_rows: int
    ) -> Generator[list[ExportRow]]:
        """One query streamed in chunks (libpq's chunked rows mode): the server sends
        the next rows while these are written, where keyset pages would wait for each
        page's round trip and re-plan it; the file holds one snapshot of the log.

        Over more than a week the rows are walked in seq order (as the API's pages
        are): before the table is analyzed, the planner would otherwise sort the whole
        range on disk first, and the export would wait for it, doing nothing."""
        sql = f"SELECT {export_select('postgresql')} FROM events WHERE {where} ORDER BY seq"
        short = (
            query.start is not None and query.end is not None and query.end - query.start <= WEEK
        )
        with self.pool.connection() as conn, conn.transaction():
            if not short:
                conn.execute("SET LOCAL enable_sort = off")
            stream = conn.cursor(binary=True).stream(sql.encode(), params, size=batch_rows)
            rows = cast("Generator[ExportRow]", stream)
            try:
                while batch := list(islice(rows, batch_rows)):
                    yield batch
            finally:
                rows.close()  # cancels an abandoned query before the connection goes back

    def create_export(
        self, record: ExportRecord, quota_key: tuple[str, str, date], quota: int
    ) -> bool:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                Q["count_export"],
                quota_key,
            ).fetchone()
            assert row is not None
            if row[0] > quota:
                conn.execute(Q["uncount_export"], quota_key)
                return False
            conn.execute(
                Q["create_export"],
                (
                    record.id, record.tenant_id, record.token_id, record.status,
                    Jsonb(record.spec), record.webhook_url_sealed, record.created_at,
                    record.started_at, record.completed_at, record.attempts,
                    record.event_count, record.bytes, record.sha256, record.error,
                    record.object_key, record.manifest_key,
                ),
            )  # fmt: skip
        return True

    def get_export(self, tenant_id: int, export_id: str) -> ExportRecord | None:
        with self.pool.connection() as conn:
            row = conn.execute(Q["get_export"], (tenant_id, export_id)).fetchone()
        return None if row is None else export_record(row)

    def list_exports(
        self, tenant_id: int, limit: int, before: str | None = None
    ) -> list[ExportRecord]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {EXPORT_COLUMNS} FROM exports WHERE tenant_id = %s "
                "AND (%s::text IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
                (tenant_id, before, before, limit),
            ).fetchall()
        return [export_record(row) for row in rows]

    def claim_export(
        self, worker: str, lease_seconds: float, *, with_webhook: bool = True
    ) -> ExportRecord | None:
        webhook = "" if with_webhook else "AND webhook_url IS NULL"
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                f"""
                UPDATE exports SET status = 'running', worker = %s, lease_until = %s,
                       attempts = attempts + 1, started_at = coalesce(started_at, now())
                WHERE id = (
                    SELECT id FROM exports
                    WHERE (status = 'queued' OR (status = 'running' AND lease_until < now()))
                    {webhook}
                    ORDER BY created_at
                    FOR UPDATE SKIP LOCKED
                    LIMIT 1
                )
                RETURNING {EXPORT_COLUMNS}
                """,
                (worker, _lease(lease_seconds)),
            ).fetchone()
        return None if row is None else export_record(row)

    def renew_export_lease(self, export_id: str, worker: str, lease_seconds: float) -> bool:
        with self.pool.connection() as conn:
            cursor = conn.execute(
                Q["renew_export_lease"],
                (_lease(lease_seconds), export_id, worker),
            )
            return cursor.rowcount == 1

    def finish_export(
        self, record: ExportRecord, worker: str, delivery: NewDelivery | None
    ) -> bool:
        with self.pool.connection() as conn, conn.transaction():
            cursor = conn.execute(
                Q["finish_export"],
                (
                    record.status, record.completed_at, record.event_count, record.bytes,
                    record.sha256, record.error, record.object_key, record.manifest_key,
                    record.id, worker,
                ),
            )  # fmt: skip
            if cursor.rowcount != 1:
                return False
            if delivery is not None:
                conn.execute(
                    Q["queue_delivery"],
                    (
                        delivery.id, delivery.tenant_id, delivery.url_sealed,
                        delivery.payload, delivery.created_at, delivery.created_at,
                    ),
                )  # fmt: skip
        return True

    # webhooks ------------------------------------------------------------
    def claim_deliveries(self, lease_seconds: float, limit: int) -> list[WebhookDelivery]:
        with self.pool.connection() as conn, conn.transaction():
            rows = conn.execute(
                f"""
                UPDATE webhook_deliveries SET next_attempt_at = %s
                WHERE id IN (
                    SELECT id FROM webhook_deliveries
                    WHERE status = 'pending' AND next_attempt_at <= now()
                    ORDER BY next_attempt_at
                    FOR UPDATE SKIP LOCKED
                    LIMIT %s
                )
                RETURNING {_DELIVERY_COLUMNS}
                """,
                (_lease(lease_seconds), limit),
            ).fetchall()
        return [
            WebhookDelivery(
                id=row[0],
                tenant_id=int(row[1]),
                url_sealed=bytes(row[2]),
                payload=bytes(row[3]),
                created_at=row[4],
                attempts=int(row[5]),
            )
            for row in rows
        ]

    def delivery_attempted(
        self,
        delivery_id: str,
        *,
        delivered: bool,
        next_attempt_at: datetime | None,
        status_code: int | None,
        error: str | None,
    ) -> None:
        status = "delivered" if delivered else "pending" if next_attempt_at else "failed"
        with self.pool.connection() as conn:
            conn.execute(
                Q["delivery_attempted"],
                (
                    status, None if delivered else next_attempt_at, status_code, error,
                    delivery_id,
                ),
            )  # fmt: skip
