"""EventQuery → SQL WHERE clause, for both dialects.

Only placeholders, timestamp encoding and the substring search differ between
SQLite and PostgreSQL; the rest of the filter logic is written once here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trailkeeper.events.query import EventQuery

__all__ = ["Dialect", "where_clause"]


@dataclass(frozen=True, slots=True)
class Dialect:
    placeholder: str
    timestamp: Callable[[datetime], Any]
    substring: Callable[[str], tuple[str, list[Any]]]
    """SQL (with placeholders) matching actor name or email containing ``q``, any case."""


def _successor(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``.

    ``card.`` → ``card/``: a range scan on the action index instead of LIKE."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def where_clause(tenant_id: int, query: EventQuery, dialect: Dialect) -> tuple[str, list[Any]]:
    p = dialect.placeholder
    parts = [f"tenant_id = {p}"]
    params: list[Any] = [tenant_id]

    def any_of(column: str, values: tuple[str, ...]) -> str:
        params.extend(values)
        if len(values) == 1:
            return f"{column} = {p}"
        return f"{column} IN ({', '.join([p] * len(values))})"

    if query.actor:
        ids = any_of("actor_id", query.actor)
        emails = any_of("actor_email", query.actor)
        parts.append(f"({ids} OR {emails})")
    if query.action:
        options = []
        if query.exact_actions:
            options.append(any_of("action", query.exact_actions))
        for prefix in query.action_prefixes:
            options.append(f"(action >= {p} AND action < {p})")
            params.extend((prefix, _successor(prefix)))
        parts.append(f"({' OR '.join(options)})")
    for column in ("category", "source", "resource_type", "resource_id", "run_id", "ip"):
        values: tuple[str, ...] = getattr(query, column)
        if values:
            parts.append(any_of(column, values))
    if query.start is not None:
        parts.append(f"occurred_at >= {p}")
        params.append(dialect.timestamp(query.start))
    if query.end is not None:
        parts.append(f"occurred_at <= {p}")
        params.append(dialect.timestamp(query.end))
    if query.q:
        sql, q_params = dialect.substring(query.q)
        parts.append(sql)
        params.extend(q_params)
    return " AND ".join(parts), params


def like_pattern(text: str) -> str:
    """A LIKE pattern for a literal substring, with ``\\`` as the escape character."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
