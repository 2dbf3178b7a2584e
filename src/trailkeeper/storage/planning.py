"""Resolve a query against the value dictionaries before it touches ``events``.

Actor values become exact actor ids (an email is looked up), ``q`` becomes the
exact (actor, name, email) triples that contain it, and ``card.*`` becomes the
exact actions that start with ``card.``. The resulting filters are plain
equalities that the ``(tenant, column, seq)`` indexes answer in seq order, and
the counts tell whether the filters are so common that scanning the log in seq
order and stopping after one page is cheaper (``Resolved.common``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from trailkeeper.events.query import EventQuery

__all__ = ["COMMON_SHARE", "Resolved", "resolve"]

Fetch = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
COMMON_SHARE = 0.02
"""A filter matching more than this share of a tenant's events is 'common'."""


@dataclass(frozen=True, slots=True)
class Resolved:
    actor_ids: tuple[str, ...] | None = None
    texts: tuple[tuple[str, str, str], ...] | None = None
    actions: tuple[str, ...] | None = None
    common: bool = False
    merged_actions: tuple[str, ...] | None = None
    """Set by a backend that reads a page as a merge of per-action index scans: the
    actions it merges (then ``actions`` is None, so the WHERE clause has no action filter;
    each scan adds its own ``action = …``)."""

    @property
    def text_actor_ids(self) -> tuple[str, ...] | None:
        """The actors of the ``q`` matches (sorted), or None without ``q``."""
        return None if self.texts is None else tuple(sorted({t[0] for t in self.texts}))

    @property
    def empty(self) -> bool:
        """Some filter can match nothing, so neither can the query."""
        return any(v == () for v in (self.actor_ids, self.texts, self.actions))


def resolve(
    fetch: Fetch,
    p: str,
    tenant_id: int,
    query: EventQuery,
    total: int,
    text_search: Callable[[str], tuple[str, list[Any]]],
) -> Resolved:
    """Look the query's actors, text and action prefixes up in the dictionaries.

    ``text_search(q)`` gives SQL selecting ``actor_texts`` rows that contain ``q``."""
    estimates: list[int] = []
    actor_ids = texts = actions = None
    if query.actor:
        marks = ", ".join([p] * len(query.actor))
        rows = fetch(
            f"SELECT actor_id, sum(events) FROM actor_texts WHERE tenant_id = {p} "
            f"AND (actor_id IN ({marks}) OR email IN ({marks})) GROUP BY actor_id",
            (tenant_id, *query.actor, *query.actor),
        )
        actor_ids = tuple(sorted(r[0] for r in rows))
        estimates.append(sum(int(r[1]) for r in rows))
    if query.q:
        sql, params = text_search(query.q)
        rows = fetch(
            f"SELECT actor_id, name, email, events FROM actor_texts "
            f"WHERE tenant_id = {p} AND {sql}",
            (tenant_id, *params),
        )
        texts = tuple(sorted((r[0], r[1], r[2]) for r in rows))
        estimates.append(sum(int(r[3]) for r in rows))
    if query.action:
        found: dict[str, int] = {}
        for prefix in query.action_prefixes:
            rows = fetch(
                f"SELECT action, events FROM action_counts WHERE tenant_id = {p} "
                f"AND action >= {p} AND action < {p}",
                (tenant_id, prefix, successor(prefix)),
            )
            found.update((r[0], int(r[1])) for r in rows)
        if query.exact_actions:
            marks = ", ".join([p] * len(query.exact_actions))
            rows = fetch(
                f"SELECT action, events FROM action_counts WHERE tenant_id = {p} "
                f"AND action IN ({marks})",
                (tenant_id, *query.exact_actions),
            )
            found.update((r[0], int(r[1])) for r in rows)
        actions = tuple(sorted(found))
        estimates.append(sum(found.values()))
    others = (
        any(
            getattr(query, name)
            for name in ("category", "source", "resource_type", "resource_id", "run_id", "ip")
        )
        or query.start is not None
        or query.end is not None
    )
    common = bool(estimates) and not others and min(estimates) > COMMON_SHARE * total
    return Resolved(actor_ids=actor_ids, texts=texts, actions=actions, common=common)


def successor(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``.

    ``card.`` → ``card/``: a range on a bytewise-ordered index instead of LIKE."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
