"""The per-tenant value dictionaries (``actor_texts``, ``action_counts``).

They hold each distinct actor triple and action with how many events carry it,
updated with every batch. They serve the ``q`` search (a trigram index over a
few thousand triples instead of every event) and give exact counts to the
query planning in ``planning.py``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from trailkeeper.events.record import Draft
from trailkeeper.events.view import EventView

__all__ = ["DictionaryRows", "action_rows", "actor_rows"]

Rows = list[tuple[Any, ...]]


def actor_rows(tenant_id: int, views: Iterable[EventView]) -> list[tuple[Any, ...]]:
    """``(tenant, actor id, name, email, events)`` per distinct triple, sorted so that
    concurrent writers lock rows in the same order."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for view in views:
        actor = view["actor"]
        counts[(actor["id"], actor["name"] or "", actor["email"] or "")] += 1
    return [(tenant_id, *triple, n) for triple, n in sorted(counts.items())]


def action_rows(tenant_id: int, views: Iterable[EventView]) -> list[tuple[Any, ...]]:
    counts = Counter(view["action"] for view in views)
    return [(tenant_id, action, n) for action, n in sorted(counts.items())]


class DictionaryRows:
    """The dictionary rows of a batch, counted before its write transaction; again
    inside it only when some events turn out to be retries and are not stored."""

    def __init__(self, tenant_id: int, drafts: Sequence[Draft]) -> None:
        self.tenant_id = tenant_id
        self.drafts = drafts
        views = [d.view for d in drafts]
        self.actors = actor_rows(tenant_id, views)
        self.actions = action_rows(tenant_id, views)

    def of(self, new: Sequence[tuple[int, int, bytes]]) -> tuple[Rows, Rows]:
        """(actor rows, action rows) of the events stored (``Sequenced.new``)."""
        if len(new) == len(self.drafts):
            return self.actors, self.actions
        views = [self.drafts[index].view for index, _, _ in new]
        return actor_rows(self.tenant_id, views), action_rows(self.tenant_id, views)
