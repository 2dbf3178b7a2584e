"""Dropping whole monthly partitions of ``events`` once every row in them is archived
(CONTRACT section 7: old data leaves by dropping partitions, not row by row).

A partition holds every tenant's events of one month of ``received_at``. It can go
when, for each tenant with rows in it, those rows are all archived
(``seq <= archived_through``) and the tenant is not under legal hold; partitions go
oldest first, and never the current month's. One transaction locks ``events``, takes
the partition's rows out of the dictionaries' counts (counted just before, under a lock
that holds the month's rows still but lets ingest go on), moves the tenants'
``removed_through`` past them and drops it: a reader (``verify``, a list) sees the rows
and the old ``removed_through``, or neither, never rows missing that the state says are
stored (which ``DETACH … CONCURRENTLY`` followed by a separate drop would show, for as
long as a killed run left it so). The lock waits at most ``LOCK_TIMEOUT``, and is held
for a few statements over the dictionaries: ingest pauses that long, once a month."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from trailkeeper.storage.postgres.named import QUERIES as Q
from trailkeeper.storage.removal import DictionaryRemoval, Removed

__all__ = ["COUNT_PLAN", "drop_expired_partitions", "month_count"]

log = logging.getLogger("trailkeeper.retention")

_NAME = re.compile(r"^events_p(\d{4})(\d{2})$")
_LOCK = 7_261_009  # one process drops partitions at a time
_DICTIONARIES = DictionaryRemoval(Q, arrays=True)
LOCK_TIMEOUT = "2s"  # how long a drop waits for the readers and writers of events
COUNT_PLAN = (
    "SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off; "
    "SET LOCAL work_mem = '64MB'"
)
"""The month's count (many rows, few groups) as one hash aggregate in memory, on one
core. Left to itself the planner ran it in parallel workers, each sorting its part on disk,
and compiled it (figures in ``docs/benchmarks.md``, "Measured reasons in the code")."""


def month_count(name: str) -> sql.Composed:
    """What a month's rows add to the dictionaries' counts, by tenant (run after
    :data:`COUNT_PLAN`)."""
    return sql.SQL(
        "SELECT tenant_id, actor_id, actor_name, actor_email, action, max(seq), count(*) "
        "FROM {} GROUP BY 1, 2, 3, 4, 5"
    ).format(sql.Identifier(name))


def drop_expired_partitions(pool: ConnectionPool) -> int:
    """Drop every droppable partition; the number of events they held."""
    conninfo = str(pool.conninfo)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        got = conn.execute(Q["try_lock"], (_LOCK,)).fetchone()
        if not got or not got[0]:
            return 0
        removed = 0
        try:
            for name in _detached(conn):
                removed += _drop(conn, name, attached=False)
            for name in _droppable(conn):
                removed += _drop(conn, name, attached=True)
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            log.info("partitions: events stayed busy for %s; the next run drops them", LOCK_TIMEOUT)
        finally:
            conn.execute(Q["unlock"], (_LOCK,))
        return removed


def _attached(conn: psycopg.Connection[Any]) -> list[tuple[str, bool]]:
    rows = conn.execute(Q["event_months"]).fetchall()
    return sorted((r[0], r[1]) for r in rows if _NAME.match(r[0]))


def _detached(conn: psycopg.Connection[Any]) -> list[str]:
    """Month tables detached but not dropped (by a killed run of an earlier version,
    which detached first): their rows are no longer in ``events``."""
    pending = [name for name, detaching in _attached(conn) if detaching]
    for name in pending:
        conn.execute(sql.SQL("ALTER TABLE events DETACH PARTITION {} FINALIZE").format(
            sql.Identifier(name)))  # fmt: skip
    rows = conn.execute(Q["detached_months"], (_NAME.pattern,)).fetchall()
    return sorted(r[0] for r in rows)


def _droppable(conn: psycopg.Connection[Any]) -> list[str]:
    """The oldest partitions, in order, up to the first that still holds something
    unarchived or held (never the current month's)."""
    current = f"events_p{datetime.now(UTC):%Y%m}"
    tenants = _archived_and_held(conn)
    out = []
    for name, _ in _attached(conn):
        if name >= current or not _expired(conn, name, tenants):
            break
        out.append(name)
    return out


def _archived_and_held(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """(tenant, archived through, under legal hold) of every tenant."""
    return conn.execute(Q["archived_and_held"]).fetchall()


def _expired(conn: psycopg.Connection[Any], name: str, tenants: list[tuple[Any, ...]]) -> bool:
    table = sql.Identifier(name)
    for tenant_id, archived, held in tenants:
        row = conn.execute(
            sql.SQL("SELECT max(seq) FROM {} WHERE tenant_id = %s").format(table), (tenant_id,)
        ).fetchone()
        if row is not None and row[0] is not None and (held or row[0] > archived):
            return False
    return True


def _drop(conn: psycopg.Connection[Any], name: str, *, attached: bool) -> int:
    """Count a month out of the dictionaries, record it removed and drop it, at once
    (an attached month is checked again under the lock: a legal hold may have come).

    The month is counted first, under a lock that only keeps its rows as they are (an
    erasure or a batch delete waits): ingest, which writes the current month only, and
    reads go on. ``events`` itself is locked after that, for the few statements that
    record the month gone and drop it."""
    from trailkeeper.storage.postgres.retention import runner

    table = sql.Identifier(name)
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
        conn.execute(COUNT_PLAN)
        conn.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(table))
        removed: dict[int, Removed] = defaultdict(Removed)
        for tenant_id, *group in conn.execute(month_count(name)):
            removed[tenant_id].add_groups([group])
        conn.execute(Q["lock_events"])
        if attached and not _all_archived(removed, _archived_and_held(conn)):
            return 0
        run, run_many = runner(conn)
        for tenant_id, gone in removed.items():
            _DICTIONARIES.subtract(run, run_many, tenant_id, gone)
        conn.execute(
            Q["months_removed"], (list(removed), [gone.last_seq for gone in removed.values()])
        )
        conn.execute(sql.SQL("DROP TABLE {}").format(table))
    total = sum(gone.events for gone in removed.values())
    log.info("dropped partition %s (%d events, all archived)", name, total)
    return total


def _all_archived(removed: dict[int, Removed], tenants: list[tuple[Any, ...]]) -> bool:
    """Whether every tenant with rows in the month has them all archived, and none is
    under legal hold."""
    state = {tenant_id: (archived, held) for tenant_id, archived, held in tenants}
    for tenant_id, gone in removed.items():
        archived, held = state.get(tenant_id, (-1, False))
        if held or gone.last_seq > archived:
            return False
    return True
