"""PostgreSQL implementation of the storage protocols (psycopg 3, pooled).

Writers serialize per tenant on the tenant row (``SELECT … FOR UPDATE``), which
makes ``seq`` gapless and commit order equal to ``seq`` order, so a poller that
resumes after the last seq it saw never misses an event.

This module holds the pool, migrations, partitions and the write path; the rest is one
mixin per concern (``tree``, ``tenants``, ``pages``, ``exports``, ``streams``,
``retention``, …). Their fixed SQL and this module's are named in ``queries.sql``."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import Connection
from psycopg_pool import ConnectionPool

from trailkeeper.events.record import Draft
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.events.view import EventView
from trailkeeper.storage.migrations import load_migrations
from trailkeeper.storage.postgres.admin import PostgresAdmin
from trailkeeper.storage.postgres.exports import PostgresExports
from trailkeeper.storage.postgres.named import QUERIES as Q
from trailkeeper.storage.postgres.pages import PostgresReads
from trailkeeper.storage.postgres.retention import PostgresRetention
from trailkeeper.storage.postgres.rowscan import PostgresRowSource
from trailkeeper.storage.postgres.sessions import PostgresSessions
from trailkeeper.storage.postgres.streams import PostgresStreams
from trailkeeper.storage.postgres.tenants import PostgresTenants
from trailkeeper.storage.postgres.tree import PostgresTree
from trailkeeper.storage.protocols import Receipt
from trailkeeper.storage.ready import OccurredForm, ReadyBatch, ready_batch
from trailkeeper.storage.rows import (
    INSERT_COLUMNS,
    READ_COLUMNS,
    scanned_view,
    sequenced_rows,
    view_from_row,
)
from trailkeeper.storage.sequencing import Existing, sequence_batch

__all__ = ["PostgresStore"]

_MIGRATION_LOCK = 7_261_001
_PARTITION_LOCK = 7_261_002


_COPY_EVENTS = f"COPY events ({', '.join(INSERT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = [
    "int8" if column in ("tenant_id", "seq")
    else "timestamptz" if column in ("occurred_at", "received_at")
    else "bytea" if column in ("leaf_hash", "content_hash")
    else "text"
    for column in INSERT_COLUMNS
]  # fmt: skip
"""Binary COPY: values go as their binary forms (no text escaping of bytea, no timestamp
formatting and parsing)."""


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """The columns after the first (the tenant) of ``rows``, each as a list."""
    return [[row[n] for row in rows] for n in range(1, width + 1)]


def _configure(conn: Connection) -> None:
    """Every pooled connection: no JIT compilation. trailkeeper's queries read a page, a
    proof's tiles or a stream of rows; a page merged from many actors' index scans can be
    estimated costly enough to JIT, and compiling then takes longer than the query itself
    (docs/benchmarks.md, "Measured reasons in the code")."""
    conn.execute("SET jit = off")
    conn.commit()


def _month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


class PostgresStore(
    PostgresTree,
    PostgresTenants,
    PostgresAdmin,
    PostgresExports,
    PostgresStreams,
    PostgresRetention,
    PostgresSessions,
    PostgresReads,
):
    backend = "postgresql"
    occurred_form: OccurredForm = "datetime"

    def __init__(self, url: str, pool_size: int = 8, timeout: float = 30) -> None:
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=True,
            name="trailkeeper",
            timeout=timeout,
            configure=_configure,
        )
        self._partitions: set[datetime] = set()
        self._partition_lock = threading.Lock()

    # lifecycle -----------------------------------------------------------
    def migrate(self) -> int:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(Q["lock_transaction"], (_MIGRATION_LOCK,))
            conn.execute(Q["create_schema_migrations"])
            applied = {r[0] for r in conn.execute(Q["applied_migrations"])}
            version = max(applied, default=0)
            for migration in load_migrations("trailkeeper.storage.postgres"):
                if migration.version in applied:
                    continue
                conn.execute(migration.sql.encode())
                conn.execute(Q["record_migration"], (migration.version, migration.name))
                version = migration.version
        self._ensure_partitions(datetime.now(UTC))
        return version

    def claim(self, name: str, value: bytes) -> bytes:
        with self.pool.connection() as conn:
            conn.execute(Q["claim_deployment"], (name, value))
            row = conn.execute(Q["deployment_value"], (name,)).fetchone()
        assert row is not None
        return bytes(row[0])

    def ping(self) -> None:
        with self.pool.connection(timeout=min(5.0, self.pool.timeout)) as conn:
            conn.execute(Q["ping"])

    def close(self) -> None:
        self.pool.close()

    def _ensure_partitions(self, moment: datetime) -> None:
        """Create the month partition for ``moment`` (and the next one near month end)."""
        months = [_month_start(moment)]
        if _next_month(months[0]) - moment < timedelta(hours=6):
            months.append(_next_month(months[0]))
        missing = [m for m in months if m not in self._partitions]
        if not missing:
            return
        with self._partition_lock, self.pool.connection() as conn, conn.transaction():
            conn.execute(Q["lock_transaction"], (_PARTITION_LOCK,))
            for start in missing:
                name = f"events_p{start:%Y%m}"
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF events FOR VALUES "
                    f"FROM ('{start.isoformat()}') TO ('{_next_month(start).isoformat()}')"
                )
                self._partitions.add(start)

    # events --------------------------------------------------------------
    def append(self, tenant_id: int, drafts: Sequence[Draft]) -> list[Receipt]:
        # Made before the tenant row is locked, so that it overlaps with another
        # batch's transaction.
        return self._append(ready_batch(tenant_id, drafts, self.occurred_form))

    def _append(self, batch: ReadyBatch) -> list[Receipt]:
        self._ensure_partitions(datetime.now(UTC))
        with self.pool.connection() as conn, conn.transaction():
            return self._append_in(conn, batch)

    def _append_in(self, conn: Connection[Any], batch: ReadyBatch) -> list[Receipt]:
        """One batch inside the caller's transaction (its partitions made)."""
        tenant_id = batch.tenant_id
        ids = list(set(batch.ids))
        # One round trip for the lock and the ids already stored: in a pipeline the
        # server runs the SELECT of ids after the lock is granted, with a snapshot of
        # its own (read committed), so it sees every batch committed before ours.
        with conn.pipeline():
            locked = conn.execute(Q["lock_next_seq"], (tenant_id,))
            stored = conn.execute(Q["stored_ids"], (tenant_id, ids))
        row = locked.fetchone()
        assert row is not None, "tenant vanished"
        existing = {r[0]: Existing(r[1], bytes(r[2]), bytes(r[3])) for r in stored}
        received_at = datetime.now(UTC)
        plan = sequence_batch(batch, existing, row[0], received_at)
        if plan.new:
            with conn.cursor() as cur:
                with cur.copy(_COPY_EVENTS) as copy:
                    copy.set_types(_COPY_TYPES)
                    for values in sequenced_rows(batch.rows, plan.new, received_at):
                        copy.write_row(values)
                actors, actions = batch.dictionaries(plan.new)
                # The dictionaries in one statement each, over arrays (executemany
                # runs Python per row: docs/benchmarks.md, "Measured reasons in the code").
                with conn.pipeline():
                    cur.execute(Q["add_actor_counts"], (tenant_id, *_columns(actors, 4)))
                    cur.execute(Q["add_action_counts"], (tenant_id, *_columns(actions, 2)))
                    cur.execute(Q["set_next_seq"], (plan.next_seq, tenant_id))
        return plan.receipts

    def append_many(
        self, batches: Sequence[tuple[int, Sequence[Draft]]]
    ) -> list[list[Receipt] | Exception]:
        form = self.occurred_form
        return self.append_ready([ready_batch(t, drafts, form) for t, drafts in batches])

    def append_ready(self, batches: Sequence[ReadyBatch]) -> list[list[Receipt] | Exception]:
        """The batches in one transaction (one commit), each in a savepoint of its own so
        that a refused batch is rolled back alone; tenants are locked in id order, as
        every group locks them, so that two groups never wait for each other in a ring."""
        results: list[list[Receipt] | Exception] = [[] for _ in batches]
        if not batches:
            return results
        self._ensure_partitions(datetime.now(UTC))
        order = sorted(range(len(batches)), key=lambda i: batches[i].tenant_id)
        with self.pool.connection() as conn, conn.transaction():
            for index in order:
                try:
                    with conn.transaction():
                        results[index] = self._append_in(conn, batches[index])
                except Exception as exc:  # that batch alone is refused
                    results[index] = exc
        return results

    def get_event(self, tenant_id: int, event_id: str) -> EventView | None:
        cols = ", ".join(f"e.{c}" for c in READ_COLUMNS)
        rows = self._rows(
            f"SELECT {cols} FROM event_ids i JOIN events e ON e.tenant_id = i.tenant_id "
            "AND e.seq = i.seq AND e.received_at = i.received_at "
            "WHERE i.tenant_id = %s AND i.id = %s",
            (tenant_id, event_id),
        )
        return view_from_row(rows[0], format_timestamp) if rows else None

    # integrity: the tree and checkpoints are PostgresTree's; rows for verify -------
    def scan(self, tenant_id: int) -> Iterator[tuple[EventView, bytes | None]]:
        reader = self.row_source().open()
        try:
            for row in reader.rows(tenant_id, None, None):
                yield scanned_view(row)
        finally:
            reader.close()

    def row_source(self) -> PostgresRowSource:
        """Raw rows and tiles on connections of their own (``verify``'s worker processes)."""
        return PostgresRowSource(str(self.pool.conninfo))
