"""PostgreSQL's plans for list pages over the shared :class:`SqlReads` queries.

Where PostgreSQL's planner, without fresh statistics, would read and sort every match, a
page is written so that an index walks it in seq order: a short date range sorts only its
rows, and a page of a few actors or actions is merged from one index scan per key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from psycopg_pool import ConnectionPool

from trailkeeper.events.query import EventQuery
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.storage.filters import Dialect, like_pattern
from trailkeeper.storage.planning import Resolved
from trailkeeper.storage.reads import SELECT_EVENT, SqlReads

__all__ = ["DIALECT", "LATERAL_ACTIONS", "LATERAL_ACTORS", "SHORT_RANGE", "PostgresReads"]

SHORT_RANGE = timedelta(days=7)


def _text_search(q: str) -> tuple[str, list[Any]]:
    """``actor_texts`` rows whose name or email contains ``q`` (trigram index)."""
    pattern = like_pattern(q)
    return "(name ILIKE %s OR email ILIKE %s)", [pattern, pattern]


LATERAL_ACTORS = 64
"""Pages of up to this many actors are merged from per-actor index scans."""


def _lateral_actors(resolved: Resolved) -> tuple[str, ...] | None:
    """The actors a page can be merged from (every match is one of theirs), or None when
    there are too many of them. However common the actors are, the merge reads at most
    actors x limit rows, each actor's in seq order from its index (for a single actor too:
    planned as usual, a common one would be found by a scan of the log and a sort)."""
    candidates = [ids for ids in (resolved.actor_ids, resolved.text_actor_ids) if ids is not None]
    if not candidates:
        return None
    actors = min(candidates, key=len)
    return actors if len(actors) <= LATERAL_ACTORS else None


LATERAL_ACTIONS = 64
"""Pages of up to this many actions (an ``action`` filter alone) are merged from
per-action index scans."""
_OTHER_FILTERS = ("category", "source", "resource_type", "resource_id", "run_id", "ip")


_MERGED = "SELECT e.* FROM unnest("
"""How a page merged from per-key index scans begins (see ``_merged_rows``)."""


def _lateral_actions(resolved: Resolved, query: EventQuery) -> tuple[str, ...] | None:
    """The actions a page can be merged from, when ``action`` is the query's only filter
    (``card.*`` resolved to its exact actions). Planned as usual, a list of several actions
    is a filter whose share the planner has to guess: without fresh statistics it guessed
    a few rows and read and sorted every event of the tenant (measured in
    docs/benchmarks.md, "Web UI"); the merge reads at most actions x limit rows from the
    ``(tenant, action, seq)`` index, whatever the statistics say. With other filters the
    planner keeps its choice (their own index may be the selective one)."""
    if resolved.actions is None or not 0 < len(resolved.actions) <= LATERAL_ACTIONS:
        return None
    if resolved.actor_ids is not None or resolved.texts is not None:
        return None
    if query.start is not None or query.end is not None:
        return None
    if any(getattr(query, name) for name in _OTHER_FILTERS):
        return None
    return resolved.actions


def _unindexed(column: str) -> str:
    # An expression no index matches: for filters that match much of the log, walk
    # the (tenant, seq) key in order and stop after a page, instead of sorting
    # every match (the planner misjudges long IN lists).
    return f"({column} || '')"


def _identity(moment: datetime) -> datetime:
    return moment


DIALECT = Dialect(placeholder="%s", timestamp=_identity, unindexed=_unindexed, row_lists=True)


class PostgresReads(SqlReads):
    pool: ConnectionPool
    dialect = DIALECT

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if sql.startswith(_MERGED):
            return self._merged_rows(sql, params)
        return self._rows(sql, params)

    def _merged_rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """A page merged from per-actor or per-action scans, with bitmap scans off for its
        transaction: each scan must read its ``(tenant, key, seq)`` index in seq order and
        stop after ``limit`` rows. With the page's other filters beside the key (``q``'s
        name/email triples) and no fresh statistics, the planner guessed a row or two per
        key and chose a bitmap scan of every event of the key and a sort, hundreds of times
        slower than index order (figures: docs/benchmarks.md, "Web UI")."""
        with self.pool.connection() as conn:
            conn.execute(b"SET LOCAL enable_bitmapscan = off")
            return conn.execute(sql.encode(), params).fetchall()

    def _timestamp(self, value: Any) -> str:
        return format_timestamp(value)

    def _text_search(self, q: str) -> tuple[str, list[Any]]:
        return _text_search(q)

    @staticmethod
    def _short(query: EventQuery) -> bool:
        return (
            query.start is not None
            and query.end is not None
            and query.end - query.start <= SHORT_RANGE
        )

    def _page_sql(self, where: str, query: EventQuery, columns: str = SELECT_EVENT) -> str:
        """For a date range of a week or less, sort the range's rows (found through the
        (occurred_at, seq) index) instead of walking the whole log newest-first."""
        if not self._short(query):
            return super()._page_sql(where, query, columns)
        return f"SELECT {columns} FROM events WHERE {where} ORDER BY seq + 0 {query.order} LIMIT %s"

    def _page_resolved(self, resolved: Resolved, query: EventQuery) -> Resolved:
        """A page merged from per-actor scans (:meth:`_page_query`) writes every other
        filter so that no index takes it: each scan must be driven by ``actor_id = a.actor``
        alone to read in seq order (the actor list as an index condition beside it makes
        the planner read and sort all of the actor's events). A page merged from per-action
        scans has no action filter in its WHERE clause (each scan has ``action = a.action``;
        the list beside it, even written unindexed, again made the planner read and sort
        every match)."""
        actions = _lateral_actions(resolved, query)
        if actions is not None:
            return replace(resolved, actions=None, merged_actions=actions)
        if _lateral_actors(resolved) is None or self._short(query):
            return resolved
        return replace(resolved, common=True)

    def _page_query(
        self, where: str, params: list[Any], query: EventQuery, resolved: Resolved, limit: int
    ) -> tuple[str, list[Any]]:
        """A page of a few actors' events (``q``, or several ``actor`` values) as a merge of
        each actor's newest (or oldest) ``limit`` events, each read in seq order from the
        ``(tenant, actor_id, seq)`` index: at most actors x limit rows, where one scan of
        all of their events (the planner's choice) reads and sorts every match."""
        order = query.order
        if resolved.merged_actions is not None:
            sql = (
                f"{_MERGED}%s::text[]) AS a(action) "
                f"CROSS JOIN LATERAL (SELECT {SELECT_EVENT} FROM events "
                f"WHERE {where} AND action = a.action ORDER BY seq {order} LIMIT %s) AS e "
                f"ORDER BY seq {order} LIMIT %s"
            )
            return sql, [list(resolved.merged_actions), *params, limit, limit]
        actors = _lateral_actors(resolved)
        if actors is None or self._short(query):
            return super()._page_query(where, params, query, resolved, limit)
        sql = (
            f"{_MERGED}%s::text[]) AS a(actor) "
            f"CROSS JOIN LATERAL (SELECT {SELECT_EVENT} FROM events "
            f"WHERE {where} AND actor_id = a.actor ORDER BY seq {order} LIMIT %s) AS e "
            f"ORDER BY seq {order} LIMIT %s"
        )
        return sql, [list(actors), *params, limit, limit]

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.pool.connection() as conn:
            return conn.execute(sql.encode(), params).fetchall()
