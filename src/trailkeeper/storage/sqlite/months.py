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
through ``event_ids`` (tenant, id → seq and hashes), filled by each month table's insert
trigger, as on PostgreSQL; retention leaves it as it is, as PostgreSQL's does.

``pk`` (the rowid) is unique across the view (reads select a page's rows by ``pk``): a new
month table starts ``PK_GAP`` past the largest pk of the tables before it, and a table
never stays empty (retention drops a month table its deletes empty), so SQLite goes on
numbering from there. The gap keeps a writer whose clock lags another process's at a
month's turn, and so still writes the month before, from reaching the new table's pks.

Retention drops a month whole once every tenant's rows in it are archived and none is
under legal hold (:func:`drop_expired_months`): its rows are counted outside the writer's
lock, then one short write transaction takes them out of the dictionaries' counts, moves
``removed_through`` past them and takes the table out of the view (renamed
``events_gone_pYYYYMM``); then each of its indexes, and at last the table, is dropped in
a write transaction of its own, so that ingest waits for one b-tree's pages to be freed
at a time, not for the whole month's."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from trailkeeper.storage.facets import FACET_SQL
from trailkeeper.storage.protocols import Facet
from trailkeeper.storage.removal import DictionaryRemoval, Removed
from trailkeeper.storage.rows import INSERT_COLUMNS
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.named import QUERIES as Q

__all__ = [
    "LEGACY",
    "PK_GAP",
    "MonthWriter",
    "drop_empty",
    "drop_expired_months",
    "ensure_month",
    "holding",
    "month_bounds",
    "month_of",
    "month_table",
    "per_month_facet",
    "runner",
    "segments",
]

log = logging.getLogger("trailkeeper.retention")

LEGACY = "events_p000000"
PK_GAP = 1 << 32
_MONTH = re.compile(r"^events_p(\d{6})$")
_GONE = "events_gone_p"
_INDEX = re.compile(r'CREATE (UNIQUE )?INDEX (\w+) ON ("\w+")')
_DICTIONARIES = DictionaryRemoval(Q)
_RECEIVED_AT = INSERT_COLUMNS.index("received_at")

_ALL_COLUMNS = ("pk", *INSERT_COLUMNS)
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


def _quoted(name: str) -> str:
    return '"' + name + '"'


def segments(conn: sqlite3.Connection) -> list[str]:
    """The tables of the view, oldest first: ``events_p000000``, then the months."""
    rows = conn.execute(Q["event_months"]).fetchall()
    return sorted(r[0] for r in rows if _MONTH.match(r[0]))


def _make_view(conn: sqlite3.Connection, names: Sequence[str]) -> None:
    """The view over ``names``, with triggers that let a tool (a test, a bench, an
    operator's repair) write to it as to a table, row by row: the store's own writes
    name the month tables."""
    arms = " UNION ALL ".join(f"SELECT * FROM {_quoted(n)}" for n in names)
    conn.execute("DROP VIEW IF EXISTS events")  # its triggers go with it
    conn.execute(f"CREATE VIEW events AS {arms}")
    tables = [_quoted(n) for n in names]
    news = ", ".join(f"new.{c}" for c in _ALL_COLUMNS)
    deletes = " ".join(f"DELETE FROM {t} WHERE pk = old.pk;" for t in tables)
    sets = ", ".join(f"{c} = new.{c}" for c in _ALL_COLUMNS)
    updates = " ".join(f"UPDATE {t} SET {sets} WHERE pk = old.pk;" for t in tables)
    conn.execute(
        f"CREATE TRIGGER events_insert INSTEAD OF INSERT ON events BEGIN "
        f"INSERT INTO {tables[-1]} ({', '.join(_ALL_COLUMNS)}) VALUES ({news}); END"
    )
    conn.execute(f"CREATE TRIGGER events_delete INSTEAD OF DELETE ON events BEGIN {deletes} END")
    conn.execute(f"CREATE TRIGGER events_update INSTEAD OF UPDATE ON events BEGIN {updates} END")


def _largest_pk(conn: sqlite3.Connection) -> int:
    largest = 0
    for name in segments(conn):
        row = conn.execute(f"SELECT max(pk) FROM {_quoted(name)}").fetchone()
        largest = max(largest, row[0] or 0)
    return largest


def _made_like_the_first(conn: sqlite3.Connection, name: str) -> list[str]:
    """The statements that make table ``name`` and its indexes as ``events_p000000`` and
    its indexes were made (the migrations' table, renamed), under names of its own."""
    first = _quoted(LEGACY)
    statements = []
    for kind, sql in conn.execute(Q["month_template"], (LEGACY,)).fetchall():
        if kind == "table":
            statements.append(sql.replace(first, _quoted(name), 1))
            continue
        index = _INDEX.match(sql)
        if index is None or index[3] != first:
            raise RuntimeError(f"unexpected index of {LEGACY}: {sql}")
        own = _quoted(name + "_" + index[2].removeprefix("events_"))
        statements.append(
            f"CREATE {index[1] or ''}INDEX {own} ON {_quoted(name)}{sql[index.end() :]}"
        )
    return statements


def ensure_month(conn: sqlite3.Connection, month: int) -> int | None:
    """Make the month's table if it is missing (in the caller's write transaction):
    the pk its first row must take if it has no rows, else None."""
    name = month_table(month)
    table = _quoted(name)
    exists = conn.execute(Q["event_month_exists"], (name,)).fetchone() is not None
    if exists:
        if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            return None
        return _largest_pk(conn) + PK_GAP
    first_pk = _largest_pk(conn) + PK_GAP
    for statement in _made_like_the_first(conn, name):
        conn.execute(statement)
    conn.execute(
        f"CREATE TRIGGER {_quoted(name + '_id')} AFTER INSERT ON {table} BEGIN "
        "INSERT INTO event_ids (tenant_id, id, seq, content_hash, leaf_hash) "
        "VALUES (new.tenant_id, new.id, new.seq, new.content_hash, new.leaf_hash); END"
    )
    _make_view(conn, segments(conn))
    return first_pk


class MonthWriter:
    """The writer's side: rows into the table of their month, made on demand."""

    def __init__(self) -> None:
        self._known: set[int] = set()  # months whose table this process wrote to
        self._bounds = (0, 0, 0)  # [start, end) and month of the last month written

    def insert(self, conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` (``INSERT_COLUMNS``) in the caller's write transaction."""
        if not rows:
            return
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
        sql = f"INSERT INTO {_quoted(name)} ({_COLUMN_LIST}) VALUES ({_MARKS})"
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
                f"INSERT INTO {_quoted(name)} (pk, {_COLUMN_LIST}) VALUES (?, {_MARKS})",
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
        and conn.execute(f"SELECT 1 FROM {_quoted(name)} LIMIT 1").fetchone() is None
    ]
    if not empty:
        return
    _make_view(conn, [n for n in segments(conn) if n not in empty])
    for name in empty:
        conn.execute(f"DROP TABLE {_quoted(name)}")


# retention ----------------------------------------------------------------------


def drop_expired_months(
    conns: SQLiteConnections, pause: Callable[[], None], now: datetime | None = None
) -> int:
    """Drop every month table (and empty ``events_p000000``) whose rows are all
    archived and not held, oldest first, never the current month's: the events they
    held. ``pause`` lets queued ingest take the writer before each write transaction.

    The write transactions are not fsynced: lost in a crash, the month comes back whole
    with the state that says it is stored (the next run drops it again), or a table
    already out of the view comes back out of it (the next run frees it)."""
    current = month_table(month_of(int((now or datetime.now(UTC)).timestamp() * 1e6)))
    removed = 0
    with conns.read() as conn:
        leftovers = _gone(conn)
    for name in leftovers:  # taken out of the view by a run killed before it dropped them
        _free(conns, name, pause)
    with conns.read() as conn:
        names = segments(conn)
    for name in names:
        if name >= current:
            break
        counted = _count(conns, name)
        if counted is None:
            break  # a tenant's rows in it are not all archived, or held
        gone, guard = counted
        if not gone and name == LEGACY:
            continue  # the first arm, already empty
        pause()
        with conns.write(durable=False) as conn:
            if _guard(conn, name) != guard or not _all_archived(conn, gone):
                break  # changed meanwhile (an erasure, a delete, a hold): the next run
            run, run_many = runner(conn)
            for tenant_id, tenant_gone in gone.items():
                _DICTIONARIES.subtract(run, run_many, tenant_id, tenant_gone)
                conn.execute(Q["months_removed"], (tenant_gone.last_seq, tenant_id))
            if name == LEGACY:
                with _freelist_only(conn):  # the first arm stays, empty
                    conn.execute(f"DELETE FROM {_quoted(name)}")
            else:
                _make_view(conn, [n for n in segments(conn) if n != name])
                conn.execute(f"ALTER TABLE {_quoted(name)} RENAME TO {_quoted(_GONE + name[8:])}")
        if name != LEGACY:
            _free(conns, _GONE + name[8:], pause)
        total = sum(g.events for g in gone.values())
        log.info("dropped events table %s (%d events, all archived)", name, total)
        removed += total
    return removed


def _gone(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(Q["detached_months"]).fetchall()
    return sorted(r[0] for r in rows)


def _free(conns: SQLiteConnections, name: str, pause: Callable[[], None]) -> None:
    """Drop a table out of the view: each of its indexes in a write transaction of its
    own, then the table (for a month of a million events: 15-40 ms each index, ~400 ms
    the table, which SQLite reads whole to free its pages; emptying it first in short
    transactions held the writer ten times as long in all, rewriting most of it)."""
    with conns.read() as conn:
        indexes = [r[0] for r in conn.execute(Q["month_indexes"], (name,))]
    for index in indexes:
        pause()
        with conns.write(durable=False) as conn, _freelist_only(conn):
            conn.execute(f"DROP INDEX IF EXISTS {_quoted(index)}")
    pause()
    with conns.write(durable=False) as conn, _freelist_only(conn):
        conn.execute(f"DROP TABLE IF EXISTS {_quoted(name)}")


@contextmanager
def _freelist_only(conn: sqlite3.Connection) -> Iterator[None]:
    """Pages freed by a drop go to the freelist as they are, not overwritten with zeros
    first (``secure_delete``, on in some builds, would write every page of the month to
    the WAL again, inside the write lock). Like pages freed any other way, they keep
    their bytes until reused (``VACUUM`` removes them: docs/retention.md)."""
    (before,) = conn.execute("PRAGMA secure_delete").fetchone()
    conn.execute("PRAGMA secure_delete = FAST")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA secure_delete = {int(before)}")


def _guard(conn: sqlite3.Connection, name: str) -> tuple[Any, ...]:
    """What changes if a month's rows change: its largest pk (an insert), the erasures'
    and the deletes' progress."""
    largest = conn.execute(f"SELECT max(pk) FROM {_quoted(name)}").fetchone()[0]
    return (largest, *conn.execute(Q["month_guard"]).fetchone())


def _count(conns: SQLiteConnections, name: str) -> tuple[dict[int, Removed], Any] | None:
    """What the month's rows add to the dictionaries, by tenant, and its guard, in one
    snapshot; None if a tenant's rows in it are not all archived, or the tenant is held.
    Read outside the write lock: ingest goes on meanwhile."""
    with conns.read() as conn:
        tenants = conn.execute(Q["archived_and_held"]).fetchall()
        table = _quoted(name)
        for tenant_id, archived, held in tenants:
            row = conn.execute(
                f"SELECT seq FROM {table} WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1",
                (tenant_id,),
            ).fetchone()
            if row is not None and (held or row[0] > archived):
                return None
        gone: dict[int, Removed] = defaultdict(Removed)
        for tenant_id, *group in conn.execute(
            "SELECT tenant_id, actor_id, actor_name, actor_email, action, max(seq), count(*) "
            f"FROM {table} GROUP BY 1, 2, 3, 4, 5"
        ):
            gone[tenant_id].add_groups([group])
        return dict(gone), _guard(conn, name)


def _all_archived(conn: sqlite3.Connection, gone: dict[int, Removed]) -> bool:
    state = {t: (archived, held) for t, archived, held in conn.execute(Q["archived_and_held"])}
    for tenant_id, tenant_gone in gone.items():
        archived, held = state.get(tenant_id, (-1, True))
        if held or tenant_gone.last_seq > archived:
            return False
    return True


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
    arms = " UNION ALL ".join(arm.replace("{}", _quoted(n), 1) for n in names)
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
            f"SELECT 1 FROM {_quoted(name)} WHERE tenant_id = ? AND seq >= ? AND seq <= ? LIMIT 1",
            (tenant_id, first, last),
        ).fetchone()
        if row is not None:
            yield name
