"""SQLite implementation of the storage protocols.

This module holds the connections, migrations, the clock and the write path; the rest is
one mixin per concern (``tree``, ``tenants``, ``exports``, ``streams``, ``retention``, …).
Their fixed SQL and this module's are named in ``queries.sql``, beside PostgreSQL's."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trailkeeper.events.query import EventQuery
from trailkeeper.events.record import Draft
from trailkeeper.events.timestamps import format_micros, to_micros
from trailkeeper.events.view import EventView
from trailkeeper.private_files import private_file
from trailkeeper.storage.facets import facet_value
from trailkeeper.storage.filters import Dialect, like_pattern
from trailkeeper.storage.migrations import load_migrations
from trailkeeper.storage.protocols import Facet, Receipt
from trailkeeper.storage.reads import SELECT_EVENT, SqlReads
from trailkeeper.storage.ready import OccurredForm, ReadyBatch, ready_batch
from trailkeeper.storage.rows import (
    READ_COLUMNS,
    scanned_view,
    sequenced_rows,
    view_from_row,
)
from trailkeeper.storage.sequencing import Existing, sequence_batch
from trailkeeper.storage.sqlite.admin import SQLiteAdmin
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.exports import SQLiteExports
from trailkeeper.storage.sqlite.groupappend import append_group
from trailkeeper.storage.sqlite.groupcommit import GroupCommit
from trailkeeper.storage.sqlite.months import MonthWriter, per_month_facet, segments
from trailkeeper.storage.sqlite.named import QUERIES as Q
from trailkeeper.storage.sqlite.ratecounters import RateCounters
from trailkeeper.storage.sqlite.retention import SQLiteRetention
from trailkeeper.storage.sqlite.rowscan import SQLiteRowSource
from trailkeeper.storage.sqlite.sessions import SQLiteSessions
from trailkeeper.storage.sqlite.streams import SQLiteStreams
from trailkeeper.storage.sqlite.tenants import SQLiteTenants
from trailkeeper.storage.sqlite.tree import SQLiteTree

__all__ = ["SQLiteStore"]

_SELECT = ", ".join(READ_COLUMNS)
_ID_CHUNK = 500


def _timestamp(micros: int) -> str:
    return format_micros(micros)


def _text_search(q: str) -> tuple[str, list[Any]]:
    """``actor_texts`` rows whose name or email contains ``q``, in any case."""
    if len(q) >= 3:  # the trigram index answers substrings of three or more characters
        phrase = '"' + q.replace('"', '""') + '"'
        return "id IN (SELECT rowid FROM actor_texts_fts WHERE actor_texts_fts MATCH ?)", [phrase]
    pattern = like_pattern(q.casefold())
    return "(fold(name) LIKE ? ESCAPE '\\' OR fold(email) LIKE ? ESCAPE '\\')", [pattern] * 2


def _unindexed(column: str) -> str:
    return f"+{column}"  # SQLite's documented way to keep a term from using an index


DIALECT = Dialect(placeholder="?", timestamp=to_micros, unindexed=_unindexed)


class SQLiteStore(
    SQLiteTree,
    SQLiteTenants,
    SQLiteAdmin,
    SQLiteExports,
    SQLiteStreams,
    SQLiteRetention,
    SQLiteSessions,
    SqlReads,
):
    backend = "sqlite"
    dialect = DIALECT
    occurred_form: OccurredForm = "micros"

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.conns.connection().execute(sql, params).fetchall()

    def _timestamp(self, value: Any) -> str:
        return _timestamp(value)

    def _text_search(self, q: str) -> tuple[str, list[Any]]:
        return _text_search(q)

    def _page_sql(self, where: str, query: EventQuery, columns: str = SELECT_EVENT) -> str:
        """With a date range, find the page's rows in the (occurred_at, seq) index
        first and read only those rows, instead of sorting every row in the range.
        (Without one, the seq-ordered indexes already stop after one page.) The page's pks
        are materialized once: as an ``IN`` subquery SQLite ran it again for each month
        table of the view, reading whole rows, not the index alone."""
        if query.start is None and query.end is None:
            return super()._page_sql(where, query, columns)
        order = query.order
        return (
            f"WITH page AS MATERIALIZED (SELECT pk, seq FROM events WHERE {where} "
            f"ORDER BY seq {order} LIMIT ?) "
            f"SELECT {columns} FROM events WHERE pk IN (SELECT pk FROM page) "
            f"ORDER BY seq {order}"
        )

    def facet(
        self, tenant_id: int, name: Facet, query: EventQuery, limit: int
    ) -> list[dict[str, Any]]:
        """Counted in each month table through its own index, then added up: over the
        view SQLite would read every matching row whole and sort them to group."""
        clause = self._where(tenant_id, query)
        if clause is None:
            return []
        where, params = clause
        conn = self.conns.connection()
        sql, arms = per_month_facet(segments(conn), name, where)
        rows = conn.execute(sql, (*params * arms, limit)).fetchall()
        return [facet_value(name, row) for row in rows]

    def __init__(self, path: Path) -> None:
        private_file(path)  # 0600 before SQLite opens it: its WAL and SHM files follow
        self.conns = SQLiteConnections(path)
        self._months = MonthWriter()
        self._appends = GroupCommit(self.conns, self._append, self._append_group)
        self._rates = RateCounters(path)

    def _now_micros(self) -> int:
        """The store's clock (what its rows record as created, revoked or updated)."""
        return to_micros(datetime.now(UTC))

    # lifecycle -----------------------------------------------------------
    def migrate(self) -> int:
        with self.conns.write() as conn:
            conn.execute(Q["create_schema_migrations"])
            applied = {row[0] for row in conn.execute(Q["applied_migrations"])}
            version = max(applied, default=0)
            for migration in load_migrations("trailkeeper.storage.sqlite"):
                if migration.version in applied:
                    continue
                for statement in _statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    Q["record_migration"],
                    (migration.version, migration.name, to_micros(datetime.now(UTC))),
                )
                version = migration.version
        return version

    def claim(self, name: str, value: bytes) -> bytes:
        with self.conns.write() as conn:
            conn.execute(Q["claim_deployment"], (name, value))
            row = conn.execute(Q["deployment_value"], (name,)).fetchone()
        return bytes(row[0])

    def ping(self) -> None:
        self.conns.connection().execute(Q["ping"]).fetchone()

    def close(self) -> None:
        self._rates.close()
        self.conns.close()

    # events --------------------------------------------------------------
    def append(self, tenant_id: int, drafts: Sequence[Draft]) -> list[Receipt]:
        # Everything that does not depend on the log's state is done before the write
        # lock, so that it overlaps with other batches' transactions; those that arrive
        # together are committed together (groupcommit.py).
        return self._appends.submit(ready_batch(tenant_id, drafts, self.occurred_form))

    def _ingest_waiting(self) -> bool:
        return self._appends.waiting()

    def append_many(
        self, batches: Sequence[tuple[int, Sequence[Draft]]]
    ) -> list[list[Receipt] | Exception]:
        form = self.occurred_form
        return self.append_ready([ready_batch(t, drafts, form) for t, drafts in batches])

    def append_ready(self, batches: Sequence[ReadyBatch]) -> list[list[Receipt] | Exception]:
        return self._appends.run(batches)

    def _append(self, conn: sqlite3.Connection, batch: ReadyBatch) -> list[Receipt]:
        """One batch, inside the group's transaction."""
        tenant_id = batch.tenant_id
        row = conn.execute(Q["lock_next_seq"], (tenant_id,)).fetchone()
        received_at = datetime.now(UTC)
        existing = self._existing(conn, tenant_id, batch.ids)
        plan = sequence_batch(batch, existing, row[0], received_at)
        if plan.new:
            self._months.insert(conn, sequenced_rows(batch.rows, plan.new, to_micros(received_at)))
            actors, actions = batch.dictionaries(plan.new)
            conn.executemany(Q["add_actor_counts"], actors)
            conn.executemany(Q["add_action_counts"], actions)
            conn.execute(Q["set_next_seq"], (plan.next_seq, tenant_id))
        return plan.receipts

    def _append_group(
        self, conn: sqlite3.Connection, batches: list[ReadyBatch]
    ) -> list[list[Receipt] | Exception]:
        """The group's batches with a few statements per tenant (groupappend.py)."""
        return append_group(conn, batches, self._months.insert, self._existing)

    def _existing(
        self, conn: sqlite3.Connection, tenant_id: int, event_ids: Sequence[str]
    ) -> dict[str, Existing]:
        ids = list(set(event_ids))
        found: dict[str, Existing] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            marks = ", ".join("?" * len(chunk))
            for event_id, seq, content, leaf in conn.execute(
                "SELECT id, seq, content_hash, leaf_hash FROM event_ids "
                f"WHERE tenant_id = ? AND id IN ({marks})",
                (tenant_id, *chunk),
            ):
                found[event_id] = Existing(seq, content, leaf)
        return found

    def get_event(self, tenant_id: int, event_id: str) -> EventView | None:
        row = (
            self.conns.connection()
            .execute(
                f"SELECT {_SELECT} FROM events WHERE tenant_id = ?1 AND seq = "
                "(SELECT seq FROM event_ids WHERE tenant_id = ?1 AND id = ?2)",
                (tenant_id, event_id),
            )
            .fetchone()
        )
        return None if row is None else view_from_row(row, _timestamp)

    # integrity: the tree and checkpoints are SQLiteTree's; rows for verify ---------
    def scan(self, tenant_id: int) -> Iterator[tuple[EventView, bytes | None]]:
        reader = self.row_source().open()
        try:
            for row in reader.rows(tenant_id, None, None):
                yield scanned_view(row)
        finally:
            reader.close()

    def row_source(self) -> SQLiteRowSource:
        """Raw rows and tiles on connections of their own (``verify``'s worker processes)."""
        return SQLiteRowSource(str(self.conns.path))

    # rate limits ---------------------------------------------------------
    def hit(self, key: str, window_start: int, window_seconds: int) -> int:
        return self._rates.hit(key, window_start)

    def hit_many(self, keys: Sequence[str], window_start: int, window_seconds: int) -> list[int]:
        return self._rates.hit_many(keys, window_start)


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
