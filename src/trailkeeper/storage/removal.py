"""What both backends do when events leave (retention) or lose their personal data
(erasure): the value dictionaries must follow, or a search would still find an erased
name, and the planner would count events that are gone. The SQL is each backend's, named
in its ``queries.sql`` (``subtract_actors`` … ``fold_actor_names``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["DictionaryRemoval", "Removed"]

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
        """Count deleted rows (``remove_events``' ``actor_id, actor_name, actor_email,
        action, seq``)."""
        self.add_groups((*row, 1) for row in rows)

    def add_groups(self, groups: Iterable[Sequence[Any]]) -> None:
        """Count an aggregate's rows: :meth:`add`'s columns with ``seq`` the group's last,
        then how many events the group holds."""
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
    """The dictionary side of deleting and erasing, by a backend's named ``queries``.
    ``arrays``: its subtracting queries take the entries as arrays, one statement per
    table (PostgreSQL's ``unnest``), instead of a statement per entry."""

    def __init__(self, queries: Mapping[str, str], *, arrays: bool = False) -> None:
        self.queries = queries
        self.arrays = arrays

    def subtract(
        self, run: Execute, run_many: ExecuteMany, tenant_id: int, removed: Removed
    ) -> None:
        """Take the removed events out of the counts, dropping entries that reach zero
        (only those this touched: no scan of the tenant's whole dictionary)."""
        if self.arrays:
            self._subtract_arrays(run, tenant_id, removed)
            return
        q = self.queries
        run_many(q["subtract_actors"], [(n, tenant_id, *key) for key, n in removed.actors.items()])
        run_many(q["drop_spent_actors"], [(tenant_id, *key) for key in removed.actors])
        run_many(
            q["subtract_actions"],
            [(n, tenant_id, action) for action, n in removed.actions.items()],
        )
        run_many(q["drop_spent_actions"], [(tenant_id, action) for action in removed.actions])

    def _subtract_arrays(self, run: Execute, tenant_id: int, removed: Removed) -> None:
        q = self.queries
        if removed.actors:
            ids, names, emails = ([key[i] for key in removed.actors] for i in range(3))
            counts = list(removed.actors.values())
            run(q["subtract_actors"], (ids, names, emails, counts, tenant_id))
            run(q["drop_spent_actors"], (ids, names, emails, tenant_id))
        if removed.actions:
            actions, counts = list(removed.actions), list(removed.actions.values())
            run(q["subtract_actions"], (actions, counts, tenant_id))
            run(q["drop_spent_actions"], (actions, tenant_id))

    def scrub_actor(self, run: Execute, tenant_id: int, actor_id: str) -> None:
        """Fold the actor's (name, email) entries into its ('', '') entry: the counts
        stay, the erased texts leave the table and its trigram index."""
        q = self.queries
        total = int(run(q["actor_named_events"], (tenant_id, actor_id))[0][0])
        if total == 0:
            return
        run(q["drop_actor_names"], (tenant_id, actor_id))
        run(q["fold_actor_names"], (tenant_id, actor_id, "", "", total))
