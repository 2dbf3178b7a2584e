"""SQLite: retention drops a month table of events whole (``months.py``) once every
tenant's rows in it are archived and none is under legal hold (CONTRACT section 7).

The month's rows are counted out of the dictionaries in a read snapshot, outside the
writer's lock; one short write transaction checks that nothing changed meanwhile (no
insert, erasure, delete or hold), subtracts the counts, moves ``removed_through`` past the
month and takes its table out of the view (renamed ``events_gone_pYYYYMM``); then each of
its indexes, and at last the table, is dropped in a write transaction of its own, so that
ingest waits for one b-tree's pages to be freed at a time, not for the whole month's."""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from trailkeeper.storage.removal import DictionaryRemoval, Removed
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.months import (
    LEGACY,
    make_view,
    month_of,
    month_table,
    quoted,
    runner,
    segments,
)
from trailkeeper.storage.sqlite.named import QUERIES as Q

__all__ = ["drop_expired_months"]

log = logging.getLogger("trailkeeper.retention")

_GONE = "events_gone_p"
_DICTIONARIES = DictionaryRemoval(Q)


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
            if name not in segments(conn):
                continue  # another process's run dropped it meanwhile
            if _guard(conn, name) != guard or not _all_archived(conn, gone):
                break  # changed meanwhile (an erasure, a delete, a hold): the next run
            run, run_many = runner(conn)
            for tenant_id, tenant_gone in gone.items():
                _DICTIONARIES.subtract(run, run_many, tenant_id, tenant_gone)
                conn.execute(Q["months_removed"], (tenant_gone.last_seq, tenant_id))
            if name == LEGACY:
                with _freelist_only(conn):  # the first arm stays, empty
                    conn.execute(f"DELETE FROM {quoted(name)}")
            else:
                make_view(conn, [n for n in segments(conn) if n != name])
                conn.execute(f"ALTER TABLE {quoted(name)} RENAME TO {quoted(_GONE + name[8:])}")
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
            conn.execute(f"DROP INDEX IF EXISTS {quoted(index)}")
    pause()
    with conns.write(durable=False) as conn, _freelist_only(conn):
        conn.execute(f"DROP TABLE IF EXISTS {quoted(name)}")


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
    largest = conn.execute(f"SELECT max(pk) FROM {quoted(name)}").fetchone()[0]
    return (largest, *conn.execute(Q["month_guard"]).fetchone())


def _count(conns: SQLiteConnections, name: str) -> tuple[dict[int, Removed], Any] | None:
    """What the month's rows add to the dictionaries, by tenant, and its guard, in one
    snapshot; None if a tenant's rows in it are not all archived, or the tenant is held.
    Read outside the write lock: ingest goes on meanwhile."""
    try:
        with conns.read() as conn:
            return _counted(conn, name)
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return None  # another process's run dropped it meanwhile


def _counted(conn: sqlite3.Connection, name: str) -> tuple[dict[int, Removed], Any] | None:
    tenants = conn.execute(Q["archived_and_held"]).fetchall()
    table = quoted(name)
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
