"""SQL both backends run when events leave (retention) or lose their personal data
(erasure): the value dictionaries must follow, or a search would still find an
erased name, and the planner would count events that are gone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from trailkeeper.storage.dictionaries import upsert_actors_sql

__all__ = ["ERASE_COLUMNS", "DictionaryRemoval"]

# What erasure sets to NULL (CONTRACT section 8): the personal data and its salt.
ERASE_COLUMNS = (
    "actor_name = NULL, actor_email = NULL, ip = NULL, user_agent = NULL, pii_salt = NULL"
)

Execute = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
ExecuteMany = Callable[[str, Sequence[Sequence[Any]]], None]


class DictionaryRemoval:
    """The dictionary side of deleting and erasing, for placeholder ``p``."""

    def __init__(self, p: str) -> None:
        self.p = p

    def subtract_range(
        self, run: Execute, run_many: ExecuteMany, tenant_id: int, first: int, last: int
    ) -> None:
        """Take the events ``first <= seq <= last`` out of the dictionaries' counts
        (before they are deleted), dropping entries that reach zero."""
        p = self.p
        where = f"FROM events WHERE tenant_id = {p} AND seq >= {p} AND seq <= {p}"
        actors = run(
            "SELECT actor_id, coalesce(actor_name, ''), coalesce(actor_email, ''), count(*) "
            f"{where} GROUP BY 1, 2, 3",
            (tenant_id, first, last),
        )
        actions = run(f"SELECT action, count(*) {where} GROUP BY 1", (tenant_id, first, last))
        self.subtract(run, run_many, tenant_id, actors, actions)

    def subtract(
        self,
        run: Execute,
        run_many: ExecuteMany,
        tenant_id: int,
        actors: Sequence[Sequence[Any]],
        actions: Sequence[Sequence[Any]],
    ) -> None:
        p = self.p
        run_many(
            f"UPDATE actor_texts SET events = events - {p} WHERE tenant_id = {p} "
            f"AND actor_id = {p} AND name = {p} AND email = {p}",
            [(n, tenant_id, a, name, email) for a, name, email, n in actors],
        )
        run_many(
            f"UPDATE action_counts SET events = events - {p} WHERE tenant_id = {p} "
            f"AND action = {p}",
            [(n, tenant_id, action) for action, n in actions],
        )
        run(f"DELETE FROM actor_texts WHERE tenant_id = {p} AND events <= 0", (tenant_id,))
        run(f"DELETE FROM action_counts WHERE tenant_id = {p} AND events <= 0", (tenant_id,))

    def scrub_actor(self, run: Execute, tenant_id: int, actor_id: str) -> None:
        """Fold the actor's (name, email) entries into its ('', '') entry: the counts
        stay, the erased texts leave the table and its trigram index."""
        p = self.p
        named = f"tenant_id = {p} AND actor_id = {p} AND (name <> '' OR email <> '')"
        rows = run(f"SELECT coalesce(sum(events), 0) FROM actor_texts WHERE {named}",
                   (tenant_id, actor_id))  # fmt: skip
        total = int(rows[0][0])
        if total == 0:
            return
        run(f"DELETE FROM actor_texts WHERE {named}", (tenant_id, actor_id))
        run(upsert_actors_sql(p), (tenant_id, actor_id, "", "", total))
