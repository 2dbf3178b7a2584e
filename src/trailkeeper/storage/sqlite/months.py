"""SQLite: events in one table per month of ``received_at``, read through the view ``events``.

Every month's events are a table of their own, ``events_pYYYYMM``, made with the columns
and filter indexes of ``events_p000000``: that one holds the events stored before there
were month tables (the old ``events`` table, renamed by migration 0010) and stays, empty
once retention has cleared it, as the view's first arm and the month tables' model. The
view ``events`` is the ``UNION ALL`` of them, made again whenever a month table comes or
goes: SQLite turns a read of it into a compound select, one arm per table, each on its
own indexes.

The writer makes a month's table, in its write transaction, the first time a batch is
received in that month (:class:`MonthWriter`). Ids stay unique per tenant across months
through ``event_ids`` (tenant, id → seq and hashes), which the writer fills beside the
month table (as PostgreSQL's trigger does; a trigger here made SQLite's inserts 2-3 times
slower); retention leaves it as it is, as PostgreSQL's does.

``pk`` (the rowid) is unique across the view (reads select a page's rows by ``pk``): a new
month table starts ``PK_GAP`` past the largest pk of the tables before it, and a table
never stays empty (retention drops a month table its deletes empty), so SQLite goes on
numbering from there. The gap keeps a writer whose clock lags another process's at a
month's turn, and so still writes the month before, from reaching the new table's pks.

Retention drops a month's table whole once all of it is archived (``monthdrops.py``)."""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from trailkeeper.storage.facets import FACET_SQL
from trailkeeper.storage.protocols import Facet
from trailkeeper.storage.rows import INSERT_COLUMNS
from trailkeeper.storage.sqlite.named import QUERIES as Q

__all__ = [
    "LEGACY",
    "PK_GAP",
    "MonthWriter",
    "drop_empty",
    "ensure_month",
    "holding",
    "make_view",
    "month_bounds",
    "month_of",
    "month_table",
    "per_month_facet",
    "quoted",
    "runner",
    "segments",
]


LEGACY = "events_p000000"
PK_GAP = 1 << 32
_MONTH = re.compile(r"^events_p(\d{6})$")
_INDEX = re.compile(r'CREATE (UNIQUE )?INDEX (\w+) ON ("\w+")')
_RECEIVED_AT = INSERT_COLUMNS.index("received_at")

_ALL_COLUMNS = ("pk", *INSERT_COLUMNS)
_ID_COLUMNS = ("tenant_id", "id", "seq", "content_hash", "leaf_hash")
_ID_LIST = ", ".join(_ID_COLUMNS)
_REGISTER = (  # the view's insert trigger: a row's id into event_ids, as the writer does
    f"INSERT INTO event_ids ({_ID_LIST}) VALUES ({', '.join(f'new.{c}' for c in _ID_COLUMNS)});"
)
_INSERT_IDS = f"INSERT INTO event_ids ({_ID_LIST}) VALUES ({', '.join('?' * len(_ID_COLUMNS))})"
_ids_of = itemgetter(*(INSERT_COLUMNS.index(c) for c in _ID_COLUMNS))
_COLUMN_LIST = ", ".join(INSERT_COLUMNS)
_MARKS = ", ".join("?" * len(INSERT_COLUMNS))


def month_of(micros: int) -> int:
    """The month (YYYYMM) of a ``received_at`` in microseconds."""
    moment = datetime.fromtimestamp(micros / 1e6, UTC)
    return moment.year * 100 + moment.month


def month_bounds(month: int) -> tuple[int, int]:
    """[start, end) of a month in microseconds."""
    year, number = divmod(month, 100)
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp()) * 1_000_000, int(end.timestamp()) * 1_000_000


def month_table(month: int) -> str:
    return f"events_p{month:06d}"


def quoted(name: str) -> str:
    return '"' + name + '"'


def segments(conn: sqlite3.Connection) -> list[str]:
    """The tables of the view, oldest first: ``events_p000000``, then the months."""
    rows = conn.execute(Q["event_months"]).fetchall()
    return sorted(r[0] for r in rows if _MONTH.match(r[0]))


def make_view(conn: sqlite3.Connection, names: Sequence[str]) -> None:
    """The view over ``names``, with triggers that let a tool (a test, a bench, an
    operator's repair) write to it as to a table, row by row: the store's own writes
    name the month tables."""
    arms = " UNION ALL ".join(f"SELECT * FROM {quoted(n)}" for n in names)
    conn.execute("DROP VIEW IF EXISTS events")  # its triggers go with it
    conn.execute(f"CREATE VIEW events AS {arms}")
    tables = [quoted(n) for n in names]
    news = ", ".join(f"new.{c}" for c in _ALL_COLUMNS)
    deletes = " ".join(f"DELETE FROM {t} WHERE pk = old.pk;" for t in tables)
    sets = ", ".join(f"{c} = new.{c}" for c in _ALL_COLUMNS)
    updates = " ".join(f"UPDATE {t} SET {sets} WHERE pk = old.pk;" for t in tables)
    conn.execute(
        f"CREATE TRIGGER events_insert INSTEAD OF INSERT ON events BEGIN "
        f"INSERT INTO {tables[-1]} ({', '.join(_ALL_COLUMNS)}) VALUES ({news}); {_REGISTER} END"
    )
    conn.execute(f"CREATE TRIGGER events_delete INSTEAD OF DELETE ON events BEGIN {deletes} END")
    conn.execute(f"CREATE TRIGGER events_update INSTEAD OF UPDATE ON events BEGIN {updates} END")


def _largest_pk(conn: sqlite3.Connection) -> int:
    largest = 0
    for name in segments(conn):
        row = conn.execute(f"SELECT max(pk) FROM {quoted(name)}").fetchone()
        largest = max(largest, row[0] or 0)
    return largest


def _made_like_the_first(conn: sqlite3.Connection, name: str) -> list[str]:
    """The statements that make table ``name`` and its indexes as ``events_p000000`` and
    its indexes were made (the migrations' table, renamed), under names of its own."""
    first = quoted(LEGACY)
    statements = []
    for kind, sql in conn.execute(Q["month_template"], (LEGACY,)).fetchall():
        if kind == "table":
            statements.append(sql.replace(first, quoted(name), 1))
            continue
        index = _INDEX.match(sql)
        if index is None or index[3] != first:
            raise RuntimeError(f"unexpected index of {LEGACY}: {sql}")
        own = quoted(name + "_" + index[2].removeprefix("events_"))
        statements.append(
            f"CREATE {index[1] or ''}INDEX {own} ON {quoted(name)}{sql[index.end() :]}"
        )
    return statements


def ensure_month(conn: sqlite3.Connection, month: int) -> int | None:
    """Make the month's table if it is missing (in the caller's write transaction):
    the pk its first row must take if it has no rows, else None."""
    name = month_table(month)
    table = quoted(name)
    exists = conn.execute(Q["event_month_exists"], (name,)).fetchone() is not None
    if exists:
        if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            return None
        return _largest_pk(conn) + PK_GAP
    first_pk = _largest_pk(conn) + PK_GAP
    for statement in _made_like_the_first(conn, name):
        conn.execute(statement)
    make_view(conn, segments(conn))
    return first_pk


class MonthWriter:
    """The writer's side: rows into the table of their month, made on demand."""

    def __init__(self) -> None:
        self._known: set[int] = set()  # months whose table this process wrote to
        self._bounds = (0, 0, 0)  # [start, end) and month of the last month written

    def insert(self, conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` (``INSERT_COLUMNS``) in the caller's write transaction, and
        their ids into ``event_ids`` (which refuses an id stored already)."""
        if not rows:
            return
        conn.executemany(_INSERT_IDS, map(_ids_of, rows))
        start, end, month = self._bounds
        if all(start <= row[_RECEIVED_AT] < end for row in rows):
            self._insert(conn, month, rows)
            return
        by_month: dict[int, list[Sequence[Any]]] = defaultdict(list)
        for row in rows:
            by_month[month_of(row[_RECEIVED_AT])].append(row)
        for month, part in sorted(by_month.items()):
            self._insert(conn, month, part)
            self._bounds = (*month_bounds(month), month)

    def _insert(self, conn: sqlite3.Connection, month: int, rows: Sequence[Sequence[Any]]) -> None:
        name = month_table(month)
        sql = f"INSERT INTO {quoted(name)} ({_COLUMN_LIST}) VALUES ({_MARKS})"
        if month in self._known:
            try:
                conn.executemany(sql, rows)
                return
            except sqlite3.OperationalError as exc:  # raised before any row is written
                if "no such table" not in str(exc):
                    raise
                self._known.discard(month)  # dropped, or made in a transaction rolled back
        first_pk = ensure_month(conn, month)
        if first_pk is not None:
            conn.execute(
                f"INSERT INTO {quoted(name)} (pk, {_COLUMN_LIST}) VALUES (?, {_MARKS})",
                (first_pk, *rows[0]),
            )
            rows = rows[1:]
        if rows:
            conn.executemany(sql, rows)
        self._known.add(month)


def drop_empty(conn: sqlite3.Connection, names: Sequence[str]) -> None:
    """Drop the month tables of ``names`` that hold no rows (in the caller's write
    transaction): a month table never stays empty (see the module's docstring)."""
    empty = [
        name
        for name in names
        if name != LEGACY
        and conn.execute(f"SELECT 1 FROM {quoted(name)} LIMIT 1").fetchone() is None
    ]
    if not empty:
        return
    make_view(conn, [n for n in segments(conn) if n not in empty])
    for name in empty:
        conn.execute(f"DROP TABLE {quoted(name)}")


def runner(conn: sqlite3.Connection) -> tuple[Any, Any]:
    def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return conn.execute(sql, params).fetchall()

    def run_many(sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn.executemany(sql, rows)

    return run, run_many


def per_month_facet(names: Sequence[str], name: Facet, where: str) -> tuple[str, int]:
    """A facet's query over the month tables ``names``: each counts its values through
    its own index, and the outer query adds the counts up (the params of ``where`` are
    given once per table, then the limit); the SQL and the number of tables."""
    columns, group, extra = FACET_SQL[name]
    exprs = columns.split(", ")
    cols = [f"c{i}" for i in range(len(exprs))]
    keys = [c for c, e in zip(cols, exprs, strict=True) if not e.startswith("max(")]
    outer = [c if c in keys else f"max({c})" for c in cols]
    arm = f"SELECT {columns}, count(*) FROM {{}} WHERE {where}{extra} GROUP BY {group}"
    arms = " UNION ALL ".join(arm.replace("{}", quoted(n), 1) for n in names)
    by = ", ".join(keys)
    sql = (
        f"WITH arms ({', '.join(cols)}, n) AS ({arms}) "
        f"SELECT {', '.join(outer)}, sum(n) AS total FROM arms GROUP BY {by} "
        f"ORDER BY total DESC, {by} LIMIT ?"
    )
    return sql, len(names)


def holding(conn: sqlite3.Connection, tenant_id: int, first: int, last: int) -> Iterator[str]:
    """The tables that hold some of the tenant's seqs ``first..last``."""
    for name in segments(conn):
        row = conn.execute(
            f"SELECT 1 FROM {quoted(name)} WHERE tenant_id = ? AND seq >= ? AND seq <= ? LIMIT 1",
            (tenant_id, first, last),
        ).fetchone()
        if row is not None:
            yield name
