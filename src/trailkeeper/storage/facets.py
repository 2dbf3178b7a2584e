"""Facet queries (distinct values with counts) for the UI's pickers; both dialects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trailkeeper.storage.protocols import Facet

__all__ = ["FACET_SQL", "facet_select", "facet_value"]

FACET_SQL: dict[Facet, tuple[str, str, str]] = {
    "actor": ("actor_id, max(actor_name), max(actor_email)", "actor_id", ""),
    "action": ("action", "action", ""),
    "category": ("category", "category", ""),
    "source": ("source", "source", ""),
    "resource": (
        "resource_type, resource_id, max(resource_name)",
        "resource_type, resource_id",
        " AND resource_type IS NOT NULL",
    ),
}
"""Per facet: the select list, the grouping, and any further condition."""


def facet_select(name: Facet, where: str, limit_placeholder: str) -> str:
    """The most frequent values of a facet among the events matching ``where``."""
    columns, group, extra = FACET_SQL[name]
    return (
        f"SELECT {columns}, count(*) AS n FROM events WHERE {where}{extra} "
        f"GROUP BY {group} ORDER BY n DESC, {group} LIMIT {limit_placeholder}"
    )


def facet_value(name: Facet, row: Sequence[Any]) -> dict[str, Any]:
    if name == "actor":
        return {"id": row[0], "name": row[1], "email": row[2], "count": row[3]}
    if name == "resource":
        return {"type": row[0], "id": row[1], "name": row[2], "count": row[3]}
    return {"value": row[0], "count": row[1]}
