"""SQLite: export jobs, their quotas, the webhook queue, and the rows exports read.

One process owns a SQLite file, but ``serve`` and ``worker`` may both run on
it, so claims still happen inside ``BEGIN IMMEDIATE`` (SQLite's writer lock)."""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson

from trailkeeper.events.query import EventQuery
from trailkeeper.events.timestamps import from_micros, to_micros
from trailkeeper.storage.exportrows import ExportRow, export_select
from trailkeeper.storage.protocols import ExportRecord, NewDelivery, WebhookDelivery
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.months import segments
from trailkeeper.storage.sqlite.named import QUERIES as Q

__all__ = ["SQLiteExports"]

EXPORT_COLUMNS = (
    "id, tenant_id, token_id, status, spec, webhook_url, created_at, started_at, "
    "completed_at, attempts, event_count, bytes, sha256, error, object_key, manifest_key"
)
EXPORT_CACHE_KIB = 2048
"""The page cache (KiB) of the connection an export reads rows on."""
_DELIVERY_COLUMNS = "id, tenant_id, url, payload, created_at, attempts"


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else to_micros(moment)


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else from_micros(micros)


def _now() -> int:
    return to_micros(datetime.now(UTC))


def _seq_range(
    conn: sqlite3.Connection, tenant_id: int, query: EventQuery
) -> tuple[int | None, int]:
    """The first and last seq of the events in the query's date range (None when there
    are none), or the whole log's range when it has none."""
    bounds: list[Any] = []
    where = ""
    if query.start is not None:
        where += " AND occurred_at >= ?"
        bounds.append(to_micros(query.start))
    if query.end is not None:
        where += " AND occurred_at <= ?"
        bounds.append(to_micros(query.end))
    low: int | None = None
    high = None
    for table in segments(conn):  # over the view, min() and max() would read whole rows
        found = conn.execute(
            f'SELECT min(seq), max(seq) FROM "{table}" WHERE tenant_id = ?{where}',
            (tenant_id, *bounds),
        ).fetchone()
        if found[0] is not None:
            low = found[0] if low is None else min(low, found[0])
            high = found[1] if high is None else max(high, found[1])
    return low, high  # type: ignore[return-value]


def export_record(row: Sequence[Any]) -> ExportRecord:
    created = from_micros(row[6])
    return ExportRecord(
        id=row[0],
        tenant_id=int(row[1]),
        token_id=row[2],
        status=row[3],
        spec=orjson.loads(row[4]),
        webhook_url_sealed=None if row[5] is None else bytes(row[5]),
        created_at=created,
        started_at=_moment(row[7]),
        completed_at=_moment(row[8]),
        attempts=int(row[9]),
        event_count=row[10],
        bytes=row[11],
        sha256=row[12],
        error=row[13],
        object_key=row[14],
        manifest_key=row[15],
    )


class SQLiteExports:
    conns: SQLiteConnections

    def _export_batches(
        self, tenant_id: int, where: str, params: list[Any], query: EventQuery, batch_rows: int
    ) -> Generator[list[ExportRow]]:
        """Keyset pages on seq, each a short read (a long export never holds a snapshot,
        which would keep the WAL from being checkpointed), with the connection's page
        cache made small meanwhile: an export reads each page once, and would otherwise
        fill the default's 64 MiB. The thread's connection outlives the export (the
        export loop claims, integrates and finishes jobs on it), so its cache is set back
        when the rows are read.

        The pages walk the seq range of the events in the date range (found in the
        ``(occurred_at, seq)`` index alone), so a page reads just its own rows: no
        subquery that reads them twice, and no sort."""
        conn = self.conns.connection()
        (usual,) = conn.execute("PRAGMA cache_size").fetchone()
        conn.execute(f"PRAGMA cache_size = -{EXPORT_CACHE_KIB}")
        try:
            first, last = _seq_range(conn, tenant_id, query)
            if first is None:
                return
            sql = (
                f"SELECT {export_select('sqlite')} FROM events "
                f"WHERE {where} AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
            )
            after = first - 1
            while True:
                rows: list[ExportRow] = conn.execute(
                    sql, (*params, after, last, batch_rows)
                ).fetchall()
                if rows:
                    yield rows
                if len(rows) < batch_rows:
                    return
                after = rows[-1][1]
        finally:
            conn.execute(f"PRAGMA cache_size = {usual}")

    def create_export(
        self, record: ExportRecord, quota_key: tuple[str, str, date], quota: int
    ) -> bool:
        token_id, resource, day = quota_key
        with self.conns.write() as conn:
            (used,) = conn.execute(
                Q["count_export"],
                (token_id, resource, day.isoformat()),
            ).fetchone()
            if used > quota:
                conn.execute(Q["uncount_export"], (token_id, resource, day.isoformat()))
                return False
            conn.execute(
                Q["create_export"],
                (
                    record.id, record.tenant_id, record.token_id, record.status,
                    orjson.dumps(record.spec).decode(), record.webhook_url_sealed,
                    to_micros(record.created_at), _micros(record.started_at),
                    _micros(record.completed_at), record.attempts, record.event_count,
                    record.bytes, record.sha256, record.error, record.object_key,
                    record.manifest_key,
                ),
            )  # fmt: skip
        return True

    def get_export(self, tenant_id: int, export_id: str) -> ExportRecord | None:
        conn = self.conns.connection()
        row = conn.execute(Q["get_export"], (tenant_id, export_id)).fetchone()
        return None if row is None else export_record(row)

    def list_exports(
        self, tenant_id: int, limit: int, before: str | None = None
    ) -> list[ExportRecord]:
        sql = f"SELECT {EXPORT_COLUMNS} FROM exports WHERE tenant_id = ?"
        params: list[Any] = [tenant_id]
        if before is not None:
            sql += " AND id < ?"
            params.append(before)
        rows = self.conns.connection().execute(f"{sql} ORDER BY id DESC LIMIT ?", (*params, limit))
        return [export_record(row) for row in rows]

    def claim_export(
        self, worker: str, lease_seconds: float, *, with_webhook: bool = True
    ) -> ExportRecord | None:
        due = "(status = 'queued' OR (status = 'running' AND lease_until < ?))"
        if not with_webhook:
            due += " AND webhook_url IS NULL"
        # Look before taking the writer lock: idle workers poll often.
        now = _now()
        if self.conns.connection().execute(f"SELECT 1 FROM exports WHERE {due}", (now,)).fetchone():
            with self.conns.write() as conn:
                row = conn.execute(
                    f"SELECT id FROM exports WHERE {due} ORDER BY created_at LIMIT 1", (now,)
                ).fetchone()
                if row is None:
                    return None
                conn.execute(
                    "UPDATE exports SET status = 'running', worker = ?, lease_until = ?, "
                    "attempts = attempts + 1, started_at = coalesce(started_at, ?) WHERE id = ?",
                    (worker, now + int(lease_seconds * 1e6), now, row[0]),
                )
                claimed = conn.execute(
                    f"SELECT {EXPORT_COLUMNS} FROM exports WHERE id = ?", (row[0],)
                ).fetchone()
            return export_record(claimed)
        return None

    def renew_export_lease(self, export_id: str, worker: str, lease_seconds: float) -> bool:
        with self.conns.write(durable=False) as conn:
            cursor = conn.execute(
                Q["renew_export_lease"],
                (_now() + int(lease_seconds * 1e6), export_id, worker),
            )
            return cursor.rowcount == 1

    def finish_export(
        self, record: ExportRecord, worker: str, delivery: NewDelivery | None
    ) -> bool:
        with self.conns.write() as conn:
            cursor = conn.execute(
                Q["finish_export"],
                (
                    record.status, _micros(record.completed_at), record.event_count,
                    record.bytes, record.sha256, record.error, record.object_key,
                    record.manifest_key, record.id, worker,
                ),
            )  # fmt: skip
            if cursor.rowcount != 1:
                return False
            if delivery is not None:
                created = to_micros(delivery.created_at)
                conn.execute(
                    Q["queue_delivery"],
                    (
                        delivery.id, delivery.tenant_id, delivery.url_sealed,
                        delivery.payload, created, created,
                    ),
                )  # fmt: skip
        return True

    # webhooks ------------------------------------------------------------
    def claim_deliveries(self, lease_seconds: float, limit: int) -> list[WebhookDelivery]:
        due = "status = 'pending' AND next_attempt_at <= ?"
        now = _now()
        if (
            not self.conns.connection()
            .execute(f"SELECT 1 FROM webhook_deliveries WHERE {due}", (now,))
            .fetchone()
        ):
            return []
        with self.conns.write() as conn:
            rows = conn.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {due} "
                "ORDER BY next_attempt_at LIMIT ?",
                (now, limit),
            ).fetchall()
            lease = now + int(lease_seconds * 1e6)
            conn.executemany(
                "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?",
                [(lease, row[0]) for row in rows],
            )
        return [_delivery(row) for row in rows]

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
        with self.conns.write() as conn:
            conn.execute(
                Q["delivery_attempted"],
                (
                    status, None if delivered else _micros(next_attempt_at), _now(),
                    status_code, error, delivery_id,
                ),
            )  # fmt: skip


def _delivery(row: Sequence[Any]) -> WebhookDelivery:
    return WebhookDelivery(
        id=row[0],
        tenant_id=int(row[1]),
        url_sealed=bytes(row[2]),
        payload=bytes(row[3]),
        created_at=from_micros(row[4]),
        attempts=int(row[5]),
    )
