"""Helpers for retention tests: ageing stored events (as if received long ago) on
either backend, and reading archives back."""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg

from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.storage.sqlite.months import (
    drop_empty,
    ensure_month,
    month_bounds,
    month_of,
    month_table,
    segments,
)
from trailkeeper.storage.tenants import Tenant


def age_events(settings: Settings, tenant_id: int, days: int, spread: int = 0) -> None:
    """Move every stored event of the tenant ``days`` back in ``received_at``; with
    ``spread``, the events are spread evenly (in seq order) over that many more days
    before that. On PostgreSQL the rows move to the month partitions of their new
    time, made here."""
    if settings.database_url is None:
        with _sqlite_writing(settings) as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM events WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()
            conn.execute(
                "UPDATE events SET received_at = received_at - "
                "(? + ? - (seq * ?) / ?) * 86400000000 WHERE tenant_id = ?",
                (days, spread, spread, max(count, 1), tenant_id),
            )
            _rehome(conn, tenant_id)
        return
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        (oldest,) = conn.execute(
            "SELECT min(received_at) FROM events WHERE tenant_id = %s", (tenant_id,)
        ).fetchone() or (None,)
        if oldest is None:
            return
        month = (oldest - timedelta(days=days + spread)).replace(day=1, hour=0, minute=0, second=0,
                                                         microsecond=0)  # fmt: skip
        while month < datetime.now(UTC):
            following = (month + timedelta(days=32)).replace(day=1)
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS events_p{month:%Y%m} PARTITION OF events "
                f"FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
            )
            month = following
        with conn.transaction():  # a row moving partitions is re-inserted: the insert
            # trigger registers its id again, with the new received_at
            conn.execute("DELETE FROM event_ids WHERE tenant_id = %s", (tenant_id,))
            (count,) = conn.execute(
                "SELECT count(*) FROM events WHERE tenant_id = %s", (tenant_id,)
            ).fetchone() or (0,)
            conn.execute(
                "UPDATE events SET received_at = received_at - "
                "make_interval(days => (%s + %s - (seq * %s) / %s)::int) WHERE tenant_id = %s",
                (days, spread, spread, max(count, 1), tenant_id),
            )


@contextmanager
def _sqlite_writing(settings: Settings) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(settings.sqlite_path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("COMMIT")
    finally:
        conn.close()


def _rehome(conn: sqlite3.Connection, tenant_id: int) -> None:
    """On SQLite, move the tenant's rows to the month tables of their new ``received_at``
    (made here, as the writer makes them), as PostgreSQL moves them between partitions;
    a month table left empty goes. The moved rows keep their pk; their ids register again."""
    found = conn.execute(
        "SELECT DISTINCT received_at / 86400000000 FROM events WHERE tenant_id = ?", (tenant_id,)
    ).fetchall()
    for month in sorted({month_of(day * 86_400_000_000) for (day,) in found}):
        name = month_table(month)
        ensure_month(conn, month)
        where = "tenant_id = ? AND received_at >= ? AND received_at < ?"
        params = (tenant_id, *month_bounds(month))
        for table in segments(conn):
            if table == name:
                continue
            conn.execute(
                f"DELETE FROM event_ids WHERE tenant_id = ? AND id IN "
                f'(SELECT id FROM "{table}" WHERE {where})',
                (tenant_id, *params),
            )
            conn.execute(f'INSERT INTO "{name}" SELECT * FROM "{table}" WHERE {where}', params)
            conn.execute(
                "INSERT INTO event_ids SELECT tenant_id, id, seq, content_hash, leaf_hash "
                f'FROM "{table}" WHERE {where}',
                params,
            )
            conn.execute(f'DELETE FROM "{table}" WHERE {where}', params)
    drop_empty(conn, segments(conn))


def read_archive(service: Trailkeeper, key: str) -> list[dict[str, Any]]:
    data = b"".join(service.objects.read_chunks(key))
    return [orjson.loads(line) for line in gzip.decompress(data).splitlines()]


def set_received(settings: Settings, tenant_id: int, seqs: range, when: datetime) -> None:
    """Give the events ``seqs`` of the tenant the ``received_at`` ``when`` (a retention
    point in a test: keep seq order and time order the same)."""
    if settings.database_url is None:
        with _sqlite_writing(settings) as conn:
            conn.execute(
                "UPDATE events SET received_at = ? WHERE tenant_id = ? AND seq >= ? AND seq < ?",
                (int(when.timestamp() * 1_000_000), tenant_id, seqs.start, seqs.stop),
            )
            _rehome(conn, tenant_id)
        return
    month = when.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (month + timedelta(days=32)).replace(day=1)
    where = "tenant_id = %s AND seq >= %s AND seq < %s"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS events_p{month:%Y%m} PARTITION OF events "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
        )
        with conn.transaction():  # see age_events: the moved rows register their ids again
            conn.execute(f"DELETE FROM event_ids WHERE {where}", (tenant_id, seqs.start, seqs.stop))
            conn.execute(
                f"UPDATE events SET received_at = %s WHERE {where}",
                (when, tenant_id, seqs.start, seqs.stop),
            )


def _query(service: Trailkeeper, sql: str, tenant_id: int) -> list[tuple[Any, ...]]:
    store: Any = service.store
    if store.backend == "sqlite":
        return [tuple(r) for r in store.conns.connection().execute(sql, (tenant_id,))]
    with store.pool.connection() as conn:
        return [tuple(r) for r in conn.execute(sql.replace("?", "%s"), (tenant_id,))]


def assert_dictionaries_follow(service: Trailkeeper, tenant: Tenant) -> None:
    """The dictionaries count exactly the remaining events (retention subtracted what
    it removed, erasure folded the erased names): a search or a plan reads them."""
    counted = "count(*) FROM events WHERE tenant_id = ? GROUP BY"
    actors = _query(service, "SELECT actor_id, coalesce(actor_name, ''), "
                    f"coalesce(actor_email, ''), {counted} 1, 2, 3", tenant.id)  # fmt: skip
    stored = _query(service, "SELECT actor_id, name, email, events FROM actor_texts "
                    "WHERE tenant_id = ?", tenant.id)  # fmt: skip
    assert sorted(stored) == sorted(actors)
    actions = _query(service, f"SELECT action, {counted} 1", tenant.id)
    stored = _query(service, "SELECT action, events FROM action_counts WHERE tenant_id = ?",
                    tenant.id)  # fmt: skip
    assert sorted(stored) == sorted(actions)
