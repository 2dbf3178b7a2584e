"""Direct database access for the baselines: the same rows, tables, indexes and SELECTs,
without the HTTP server (auth, rate limit, validation, JSON) in between.

Reads: the product's own store (opened in the bench process on the same database) is asked for
the page, with a tape recording the SELECTs it issues (``bench/tape.py``); the baseline replays
those statements on a plain connection and times them. Inserts: the rows the server stored are
copied into a clone of ``events`` (same indexes and triggers; SQLite: of the month table it
writes to) and of ``event_ids``.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench import tape
from bench.tape import Statement
from trailkeeper.events.query import EventQuery
from trailkeeper.settings import Settings
from trailkeeper.storage import open_store
from trailkeeper.storage.rows import INSERT_COLUMNS
from trailkeeper.storage.sqlite.connections import WAL_AUTOCHECKPOINT_PAGES

__all__ = ["Capture", "Raw", "open_raw", "query_for"]

CLONE = "bench_raw_events"
CLONE_IDS = "bench_raw_event_ids"
PAGE_LIMIT = 101  # the server asks for limit + 1 to know whether there is a next page
STATEMENT_TIMEOUT_S = 60
SENTINEL = 10**15  # an ``after`` bound beyond any seq, to find it among recorded parameters
Row = tuple[Any, ...]
_INSERT_SEQ = INSERT_COLUMNS.index("seq")
_ID_COLUMNS = [
    INSERT_COLUMNS.index(c)
    for c in ("tenant_id", "id", "seq", "received_at", "content_hash", "leaf_hash")
]


def query_for(params: Sequence[tuple[str, Any]]) -> EventQuery:
    """The ``EventQuery`` the server builds from these query parameters."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key not in ("limit", "cursor"):
            grouped.setdefault(key, []).append(str(value))
    return EventQuery.from_params(grouped)


@dataclass(frozen=True, slots=True)
class Capture:
    """What the store returned for a page (event ids) and the SELECTs it issued."""

    ids: list[str]
    statements: list[Statement]


class Raw:
    """The product's store (to learn its SQL) and a plain connection (to time that SQL)."""

    backend = ""

    def __init__(self, settings: Settings, tenant: str) -> None:
        tape.install()
        self.store = open_store(settings)
        self.store.ping()
        self.conn: Any = self._connect(settings)
        self.tenant_id = int(self._one("SELECT id FROM tenants WHERE name = {p}", (tenant,)))

    # backend specifics ------------------------------------------------------
    p = "?"

    def _connect(self, settings: Settings) -> Any:
        raise NotImplementedError

    def explain(self, statement: Statement) -> str:
        raise NotImplementedError

    def statistics(self, analyze: bool) -> dict[str, Any]:
        raise NotImplementedError

    def create_clone(self) -> None:
        raise NotImplementedError

    def insert_clone(self, rows: list[Row]) -> float:
        raise NotImplementedError

    def drop_clone(self) -> None:
        raise NotImplementedError

    # shared ---------------------------------------------------------------
    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        return self.conn.execute(sql.format(p=self.p), params).fetchone()[0]

    def count(self) -> int:
        return int(
            self._one("SELECT count(*) FROM events WHERE tenant_id = {p}", (self.tenant_id,))
        )

    def capture(self, query: EventQuery, after: int | None, limit: int) -> Capture:
        with tape.recording() as statements:
            views = self.store.page(self.tenant_id, query, after, limit)
        return Capture([str(v["id"]) for v in views], [s for s in statements if tape.is_read(s)])

    def replay(self, statements: Sequence[Statement]) -> list[Row]:
        """Run the statements in order; the rows of the last one."""
        rows: list[Row] = []
        for query, params in statements:
            rows = self.conn.execute(query, params).fetchall()
        return rows

    def seq_column(self, statement: Statement) -> int:
        """Position of ``seq`` in the rows of a recorded page SELECT."""
        cursor = self.conn.execute(*statement)
        names = [d[0] for d in cursor.description]
        cursor.fetchall()
        return names.index("seq")

    def stored_batches(self, size: int) -> Iterator[list[Row]]:
        cols = ", ".join(INSERT_COLUMNS)
        sql = (
            f"SELECT {cols} FROM events WHERE tenant_id = {self.p} AND seq > {self.p} "
            f"ORDER BY seq LIMIT {self.p}"
        )
        last = -1
        while True:
            rows = self.conn.execute(sql, (self.tenant_id, last, size)).fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][_INSERT_SEQ]

    def close(self) -> None:
        self.store.close()
        self.conn.close()


class SQLiteRaw(Raw):
    backend = "sqlite"
    p = "?"

    def _connect(self, settings: Settings) -> Any:
        conn = sqlite3.connect(settings.sqlite_path, isolation_level=None, check_same_thread=False)
        # The server's settings for durable connections.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        return conn

    def explain(self, statement: Statement) -> str:
        query, params = statement
        rows = self.conn.execute(f"EXPLAIN QUERY PLAN {query}", params).fetchall()
        return "; ".join(str(r[-1]) for r in rows)

    def statistics(self, analyze: bool) -> dict[str, Any]:
        """Whether the planner has statistics (the store's ``ANALYZE``/``PRAGMA optimize``);
        the bench never adds them on SQLite: that is the product's job."""
        has_stat1 = self._one("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'", ())
        rows = 0
        if has_stat1:
            rows = self._one(
                "SELECT count(*) FROM sqlite_stat1 WHERE tbl GLOB 'events_p[0-9]*'", ()
            )
        return {"sqlite_stat1_rows_for_events": int(rows)}

    def _month(self) -> str:
        """The month table the store writes to now (``storage/sqlite/months.py``)."""
        rows = self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'events_p[0-9]*' "
            "ORDER BY name DESC LIMIT 1"
        ).fetchall()
        return str(rows[0][0])

    def _renamed(self, sql: str) -> str:
        """The month table and its indexes → ``bench_raw_events*``; ``event_ids`` →
        ``bench_raw_event_ids``."""
        return re.sub(r"\bevent_ids\b", CLONE_IDS, sql.replace(self._month(), CLONE))

    def _clone_ddl(self) -> list[tuple[str, str, str]]:
        """(type, name, sql) of ``event_ids``, the month table ingest writes to and its
        indexes, and any ``events_*`` virtual table (an FTS index fed by a trigger),
        triggers last."""
        rows = self.conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND "
            "(tbl_name IN (?, 'event_ids') OR (name LIKE 'events\\_%' ESCAPE '\\' "
            "AND sql LIKE 'CREATE VIRTUAL TABLE%')) ORDER BY type = 'trigger', rowid",
            (self._month(),),
        ).fetchall()
        return [(str(kind), str(name), str(sql)) for kind, name, sql in rows]

    def create_clone(self) -> None:
        """The same objects, re-created under ``bench_raw_events*`` names."""
        self.drop_clone()
        for _, _, sql in self._clone_ddl():
            self.conn.execute(self._renamed(sql))

    def insert_clone(self, rows: list[Row]) -> float:
        """One transaction per batch: the events, then their ids (as the server does)."""
        marks = ", ".join("?" * len(INSERT_COLUMNS))
        sql = f"INSERT INTO {CLONE} ({', '.join(INSERT_COLUMNS)}) VALUES ({marks})"
        ids = f"INSERT INTO {CLONE_IDS} (tenant_id, id, seq, content_hash, leaf_hash) VALUES "
        ids += "(?, ?, ?, ?, ?)"
        columns = [i for i in _ID_COLUMNS if INSERT_COLUMNS[i] != "received_at"]
        started = time.perf_counter()
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(sql, rows)
        self.conn.executemany(ids, [[row[i] for i in columns] for row in rows])
        self.conn.execute("COMMIT")
        return time.perf_counter() - started

    def drop_clone(self) -> None:
        for kind, name, _ in self._clone_ddl():
            if kind == "table":  # drops its indexes and triggers with it
                self.conn.execute(f"DROP TABLE IF EXISTS {self._renamed(name)}")


class PostgresRaw(Raw):
    backend = "postgresql"
    p = "%s"

    def _connect(self, settings: Settings) -> Any:
        assert settings.database_url is not None
        conn = psycopg.connect(settings.database_url, autocommit=True)
        conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT_S}s'")
        return conn

    def explain(self, statement: Statement) -> str:
        query, params = statement
        text = query.decode() if isinstance(query, bytes) else str(query)
        rows = self.conn.execute(f"EXPLAIN {text}".encode(), params).fetchall()
        return " | ".join(str(r[0]).strip() for r in rows)

    def statistics(self, analyze: bool) -> dict[str, Any]:
        """``ANALYZE`` every plain table and partition — what autovacuum would have done after
        a million inserts (it is off on some test servers) — and say when each was analyzed."""
        autovacuum = str(self._one("SELECT current_setting('autovacuum')", ()))
        tables = [
            str(r[0])
            for r in self.conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY 1"
            ).fetchall()
        ]
        seconds = 0.0
        if analyze:
            started = time.perf_counter()
            for table in tables:
                self.conn.execute(f'ANALYZE "{table}"')
            seconds = time.perf_counter() - started
        rows = self.conn.execute(
            "SELECT relname, n_live_tup, last_analyze, last_autoanalyze "
            "FROM pg_stat_user_tables WHERE relname LIKE 'events%' ORDER BY relname"
        ).fetchall()
        return {
            "autovacuum": autovacuum,
            "bench_analyzed": analyze,
            "analyze_seconds": round(seconds, 2),
            "tables": {
                str(name): {
                    "n_live_tup": int(live),
                    "last_analyze": None if manual is None else manual.isoformat(),
                    "last_autoanalyze": None if auto is None else auto.isoformat(),
                }
                for name, live, manual, auto in rows
            },
        }

    def create_clone(self) -> None:
        """Partitioned like ``events`` (same month bounds), same indexes; plus ``event_ids``."""
        self.drop_clone()
        self.conn.execute(
            f"CREATE TABLE {CLONE} (LIKE events INCLUDING ALL) PARTITION BY RANGE (received_at)"
        )
        bounds = self.conn.execute(
            "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass"
        ).fetchall()
        for n, (bound,) in enumerate(bounds):
            self.conn.execute(f"CREATE TABLE {CLONE}_p{n} PARTITION OF {CLONE} {bound}")
        self.conn.execute(f"CREATE TABLE {CLONE_IDS} (LIKE event_ids INCLUDING ALL)")

    def insert_clone(self, rows: list[Row]) -> float:
        """One transaction per batch: COPY the events, COPY their ids (as the server does)."""
        started = time.perf_counter()
        with self.conn.transaction(), self.conn.cursor() as cur:
            with cur.copy(f"COPY {CLONE} ({', '.join(INSERT_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            with cur.copy(
                f"COPY {CLONE_IDS} (tenant_id, id, seq, received_at, content_hash, leaf_hash) "
                "FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row([row[i] for i in _ID_COLUMNS])
        return time.perf_counter() - started

    def drop_clone(self) -> None:
        self.conn.execute(f"DROP TABLE IF EXISTS {CLONE}")
        self.conn.execute(f"DROP TABLE IF EXISTS {CLONE_IDS}")


def open_raw(backend: str, *, data_dir: Path, database_url: str | None, tenant: str) -> Raw:
    settings = Settings(data_dir=data_dir, database_url=database_url)
    if backend == "sqlite":
        return SQLiteRaw(settings, tenant)
    return PostgresRaw(settings, tenant)
