"""EventQuery (resolved by ``planning.py``) → SQL WHERE clause, for both dialects.

Only placeholders, timestamp encoding and how to keep an index out of a plan
differ between SQLite and PostgreSQL; the filter logic is written once here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trailkeeper.events.query import EventQuery
from trailkeeper.storage.planning import Resolved

__all__ = ["Dialect", "like_pattern", "where_clause"]


@dataclass(frozen=True, slots=True)
class Dialect:
    placeholder: str
    timestamp: Callable[[datetime], Any]
    unindexed: Callable[[str], str]
    """How to write a column so the planner will not drive the query by its index."""
    row_lists: bool = False
    """Whether a row-value IN takes a plain list, ``(a, b) IN ((1, 2), (3, 4))``. On
    PostgreSQL that is a filter, where ``IN (VALUES ...)`` becomes a join that the planner
    may drive from the list, reading every event of the actors before sorting them; SQLite
    takes only a subquery there."""


def where_clause(
    tenant_id: int, query: EventQuery, dialect: Dialect, resolved: Resolved
) -> tuple[str, list[Any]]:
    p = dialect.placeholder
    parts = [f"tenant_id = {p}"]
    params: list[Any] = [tenant_id]

    def column(name: str) -> str:
        return dialect.unindexed(name) if resolved.common else name

    def any_of(name: str, values: tuple[str, ...]) -> str:
        params.extend(values)
        if len(values) == 1:
            return f"{name} = {p}"
        return f"{name} IN ({', '.join([p] * len(values))})"

    if resolved.actor_ids is not None:
        parts.append(any_of(column("actor_id"), resolved.actor_ids))
        if not set(resolved.actor_ids) <= set(query.actor):
            # An email matched: an actor seen with it may also appear with another one.
            ids = any_of("actor_id", query.actor)
            emails = any_of("actor_email", query.actor)
            parts.append(f"({ids} OR {emails})")
    if resolved.texts is not None:
        parts.append(any_of(column("actor_id"), resolved.text_actor_ids or ()))
        triples = ", ".join(f"({p}, {p}, {p})" for _ in resolved.texts)
        listed = triples if dialect.row_lists else f"VALUES {triples}"
        actor = column("actor_id")
        parts.append(
            f"({actor}, coalesce(actor_name, ''), coalesce(actor_email, '')) IN ({listed})"
        )
        params.extend(value for triple in resolved.texts for value in triple)
    if resolved.actions is not None:
        parts.append(any_of(column("action"), resolved.actions))
    for name in ("category", "source", "resource_type", "resource_id", "run_id", "ip"):
        values: tuple[str, ...] = getattr(query, name)
        if values:
            parts.append(any_of(name, values))
    if query.start is not None:
        parts.append(f"occurred_at >= {p}")
        params.append(dialect.timestamp(query.start))
    if query.end is not None:
        parts.append(f"occurred_at <= {p}")
        params.append(dialect.timestamp(query.end))
    return " AND ".join(parts), params


def like_pattern(text: str) -> str:
    """A LIKE pattern for a literal substring, with ``\\`` as the escape character."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
