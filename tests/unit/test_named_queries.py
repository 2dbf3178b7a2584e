"""The two backends' ``queries.sql`` hold the same names, so that the SQLite and
PostgreSQL versions of a query sit side by side: a name only one backend has must be
listed below, with the reason."""

from __future__ import annotations

from collections.abc import Iterable

from trailkeeper.storage.postgres.named import QUERIES as POSTGRES
from trailkeeper.storage.queries import parse_queries
from trailkeeper.storage.sqlite.named import QUERIES as SQLITE

POSTGRES_ONLY = {
    # The tree's row is locked for integration; SQLite's writer lock keeps a tenant's
    # integrations apart (its put_tree replaces the row).
    "start_tree",
    "lock_tree",
    # They take an array (= ANY); SQLite composes an IN list the length of the call's.
    "live_tokens",
    "stored_ids",
    # Row and advisory locks; SQLite has one writer at a time.
    "lock_tenant",
    "lock_transaction",
    "try_lock",
    "unlock",
    # Readers and writers of events kept off while a partition goes; SQLite's writer
    # lock does that, and readers keep their snapshot of the view.
    "lock_events",
}
SQLITE_ONLY = {
    # Asked before taking the writer's lock that a claim needs; PostgreSQL claims
    # with SKIP LOCKED and waits for no one.
    "erasure_waiting",
    # Merges the FTS5 trigram index's segments; PostgreSQL's pg_trgm index needs none.
    "optimize_actor_search",
    # The rate counters' own file (storage/sqlite/ratecounters.py) has no migrations;
    # PostgreSQL's rate_windows table comes from one.
    "create_rate_windows",
    # Month tables of events (storage/sqlite/months.py) are looked up by name in
    # sqlite_schema; PostgreSQL makes partitions ahead (CREATE … IF NOT EXISTS).
    "event_month_exists",
    "month_indexes",
    "month_template",
    # What must not change between counting a month's rows outside the writer's lock and
    # dropping it; PostgreSQL holds a lock on the partition meanwhile instead.
    "month_guard",
}


def unmatched(postgres: Iterable[str], sqlite: Iterable[str]) -> dict[str, list[str]]:
    """The names one backend has and the other lacks, beyond the allow-lists (and any
    allowed name that is not, or no longer, in that backend alone)."""
    postgres, sqlite = set(postgres), set(sqlite)
    return {
        "only in postgres/queries.sql": sorted(postgres - sqlite - POSTGRES_ONLY),
        "only in sqlite/queries.sql": sorted(sqlite - postgres - SQLITE_ONLY),
        "allowed as PostgreSQL's alone, but not so": sorted(POSTGRES_ONLY - (postgres - sqlite)),
        "allowed as SQLite's alone, but not so": sorted(SQLITE_ONLY - (sqlite - postgres)),
    }


def test_both_backends_name_the_same_queries() -> None:
    found = unmatched(POSTGRES, SQLITE)
    assert found == {key: [] for key in found}, found


def test_a_name_in_one_file_only_is_caught() -> None:
    extra = parse_queries("-- tenant_by_email --\nSELECT id FROM tenants WHERE name = ?\n")
    found = unmatched(POSTGRES, {**SQLITE, **extra})
    assert found["only in sqlite/queries.sql"] == ["tenant_by_email"]
    found = unmatched({**POSTGRES, **extra}, SQLITE)
    assert found["only in postgres/queries.sql"] == ["tenant_by_email"]


def test_each_backend_loads_its_own_dialect() -> None:
    assert all("?" not in sql for sql in POSTGRES.values())
    assert all("%s" not in sql for sql in SQLITE.values())
