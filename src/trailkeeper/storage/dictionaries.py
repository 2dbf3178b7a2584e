"""The per-tenant value dictionaries (``actor_texts``, ``action_counts``).

They hold each distinct actor triple and action with how many events carry it,
updated with every batch. They serve the ``q`` search (a trigram index over a
few thousand triples instead of every event) and give exact counts to the
query planning in ``planning.py``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

__all__ = ["Rows", "action_rows", "actor_rows"]

Rows = list[tuple[Any, ...]]


def actor_rows(tenant_id: int, actors: Iterable[tuple[str, Any, Any]]) -> Rows:
    """``(tenant, actor id, name, email, events)`` per distinct ``(id, name, email)`` (a
    missing name or email counts as ""), sorted so that concurrent writers lock rows in
    the same order."""
    counts: Counter[tuple[str, str, str]] = Counter(
        (actor_id, name or "", email or "") for actor_id, name, email in actors
    )
    return [(tenant_id, *triple, n) for triple, n in sorted(counts.items())]


def action_rows(tenant_id: int, actions: Iterable[str]) -> Rows:
    """``(tenant, action, events)`` per distinct action, sorted."""
    counts = Counter(actions)
    return [(tenant_id, action, n) for action, n in sorted(counts.items())]
