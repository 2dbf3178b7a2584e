"""SQL both backends run when events leave (retention) or lose their personal data
(erasure): the value dictionaries must follow, or a search would still find an
erased name, and the planner would count events that are gone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from trailkeeper.storage.dictionaries import upsert_actors_sql

__all__ = ["ERASE_COLUMNS", "REMOVED_COLUMNS", "DictionaryRemoval", "Removed"]

# What erasure sets to NULL (CONTRACT section 8): the personal data and its salt.
ERASE_COLUMNS = (
    "actor_name = NULL, actor_email = NULL, ip = NULL, user_agent = NULL, pii_salt = NULL"
)
# What a delete returns of each row (``DELETE … RETURNING``), for :meth:`Removed.add`.
REMOVED_COLUMNS = "actor_id, actor_name, actor_email, action, seq"

Execute = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
ExecuteMany = Callable[[str, Sequence[Sequence[Any]]], None]
ActorKey = tuple[str, str, str]  # actor_id, name or '', email or ''


class Removed:
    """What leaving events take out of one tenant's dictionaries: counted from the rows
    themselves as they are deleted (``RETURNING``), not by a second scan of them."""

    def __init__(self) -> None:
        self.actors: Counter[ActorKey] = Counter()
        self.actions: Counter[str] = Counter()
        self.last_seq = -1

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        """Count deleted rows of :data:`REMOVED_COLUMNS`."""
        self.add_groups((*row, 1) for row in rows)

    def add_groups(self, groups: Iterable[Sequence[Any]]) -> None:
        """Count an aggregate's rows: :data:`REMOVED_COLUMNS` with ``seq`` the group's
        last, then how many events the group holds."""
        actors, actions = self.actors, self.actions
        for actor_id, name, email, action, seq, n in groups:
            actors[(actor_id, name or "", email or "")] += n
            actions[action] += n
            if seq > self.last_seq:
                self.last_seq = seq

    @property
    def events(self) -> int:
        return sum(self.actions.values())


class DictionaryRemoval:
    """The dictionary side of deleting and erasing, for placeholder ``p``. ``arrays``:
    subtract with one statement per table over arrays (PostgreSQL's ``unnest``) instead
    of a statement per entry."""

    def __init__(self, p: str, *, arrays: bool = False) -> None:
        self.p = p
        self.arrays = arrays

    def subtract(
        self, run: Execute, run_many: ExecuteMany, tenant_id: int, removed: Removed
    ) -> None:
        """Take the removed events out of the counts, dropping entries that reach zero
        (only those this touched: no scan of the tenant's whole dictionary)."""
        if self.arrays:
            self._subtract_arrays(run, tenant_id, removed)
            return
        p = self.p
        actor_key = f"tenant_id = {p} AND actor_id = {p} AND name = {p} AND email = {p}"
        run_many(
            f"UPDATE actor_texts SET events = events - {p} WHERE {actor_key}",
            [(n, tenant_id, *key) for key, n in removed.actors.items()],
        )
        run_many(
            f"DELETE FROM actor_texts WHERE {actor_key} AND events <= 0",
            [(tenant_id, *key) for key in removed.actors],
        )
        run_many(
            f"UPDATE action_counts SET events = events - {p} WHERE tenant_id = {p} "
            f"AND action = {p}",
            [(n, tenant_id, action) for action, n in removed.actions.items()],
        )
        run_many(
            f"DELETE FROM action_counts WHERE tenant_id = {p} AND action = {p} AND events <= 0",
            [(tenant_id, action) for action in removed.actions],
        )

    def _subtract_arrays(self, run: Execute, tenant_id: int, removed: Removed) -> None:
        if removed.actors:
            ids, names, emails = ([key[i] for key in removed.actors] for i in range(3))
            counts = list(removed.actors.values())
            match = (
                "a.tenant_id = %s AND a.actor_id = d.actor_id AND a.name = d.name "
                "AND a.email = d.email"
            )
            run(
                "UPDATE actor_texts a SET events = a.events - d.n FROM unnest(%s::text[], "
                "%s::text[], %s::text[], %s::int8[]) AS d (actor_id, name, email, n) "
                f"WHERE {match}",
                (ids, names, emails, counts, tenant_id),
            )
            run(
                "DELETE FROM actor_texts a USING unnest(%s::text[], %s::text[], %s::text[]) "
                f"AS d (actor_id, name, email) WHERE {match} AND a.events <= 0",
                (ids, names, emails, tenant_id),
            )
        if removed.actions:
            actions, counts = list(removed.actions), list(removed.actions.values())
            run(
                "UPDATE action_counts c SET events = c.events - d.n "
                "FROM unnest(%s::text[], %s::int8[]) AS d (action, n) "
                "WHERE c.tenant_id = %s AND c.action = d.action",
                (actions, counts, tenant_id),
            )
            run(
                "DELETE FROM action_counts c USING unnest(%s::text[]) AS d (action) "
                "WHERE c.tenant_id = %s AND c.action = d.action AND c.events <= 0",
                (actions, tenant_id),
            )

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
