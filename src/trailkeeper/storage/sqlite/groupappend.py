"""A group of batches appended with a few statements per tenant instead of ten per batch.

The group commit writes each batch in its own savepoint with its own statements (read
the next ``seq``, look up the ids, insert, count the dictionaries, store the next
``seq``): for a group of eight single events, ~80 statements, and each hands the GIL to
the event loop and waits to get it back. Here the group's batches of one tenant share
those statements: one read of the next ``seq``, one look-up of every id of the group,
one insert of every new row, one upsert of each dictionary, one update of the next
``seq``. The decisions are the same per batch, in order (:func:`sequence_batch`); a
batch sees the events the batches before it in the group stored, as it would in its own
savepoint, and a batch refused by its sequencing (a conflicting id) is refused alone.

Any database error raises: the caller then rolls the group back and writes it the
reference way, a savepoint per batch (``GroupCommit``)."""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from trailkeeper.errors import Conflict
from trailkeeper.events.timestamps import to_micros
from trailkeeper.storage.protocols import Receipt
from trailkeeper.storage.ready import ReadyBatch
from trailkeeper.storage.rows import sequenced_rows
from trailkeeper.storage.sequencing import Existing, sequence_batch
from trailkeeper.storage.sqlite.named import QUERIES as Q

__all__ = ["append_group"]

Found = Callable[[sqlite3.Connection, int, Sequence[str]], dict[str, Existing]]
Insert = Callable[[sqlite3.Connection, Sequence[Sequence[Any]]], None]
Results = list[list[Receipt] | Exception]


def append_group(
    conn: sqlite3.Connection, batches: Sequence[ReadyBatch], insert: Insert, existing: Found
) -> Results:
    """Each batch's receipts, or the ``Conflict`` that refuses it alone."""
    results: Results = [[] for _ in batches]
    by_tenant: dict[int, list[int]] = defaultdict(list)
    for index, batch in enumerate(batches):
        by_tenant[batch.tenant_id].append(index)
    for tenant_id, indices in by_tenant.items():
        rows, actors, actions, next_seq = _sequence(
            conn, tenant_id, batches, indices, existing, results
        )
        if rows:
            insert(conn, rows)
            conn.executemany(Q["add_actor_counts"], _counted(actors))
            conn.executemany(Q["add_action_counts"], _counted(actions))
            conn.execute(Q["set_next_seq"], (next_seq, tenant_id))
    return results


def _sequence(
    conn: sqlite3.Connection,
    tenant_id: int,
    batches: Sequence[ReadyBatch],
    indices: list[int],
    existing: Found,
    results: Results,
) -> tuple[list[list[Any]], Counter[tuple[Any, ...]], Counter[tuple[Any, ...]], int]:
    """Sequence the tenant's batches of the group in turn: the rows to insert, the
    dictionary counts and the next ``seq``; each batch's result goes to ``results``."""
    next_seq = int(conn.execute(Q["lock_next_seq"], (tenant_id,)).fetchone()[0])
    known = existing(conn, tenant_id, [i for index in indices for i in batches[index].ids])
    rows: list[list[Any]] = []
    actors: Counter[tuple[Any, ...]] = Counter()
    actions: Counter[tuple[Any, ...]] = Counter()
    for index in indices:
        batch = batches[index]
        received_at = datetime.now(UTC)  # each batch its own, as in its own savepoint
        try:
            found = {i: known[i] for i in batch.ids if i in known}  # as its own look-up
            plan = sequence_batch(batch, found, next_seq, received_at)
        except Conflict as exc:
            results[index] = exc
            continue
        results[index] = plan.receipts
        if not plan.new:
            continue
        next_seq = plan.next_seq
        rows += sequenced_rows(batch.rows, plan.new, to_micros(received_at))
        for position, seq, leaf in plan.new:  # later batches find them, as in the table
            known[batch.ids[position]] = Existing(seq, batch.content_hashes[position], leaf)
        batch_actors, batch_actions = batch.dictionaries(plan.new)
        for *key, count in batch_actors:
            actors[tuple(key)] += count
        for *key, count in batch_actions:
            actions[tuple(key)] += count
    return rows, actors, actions, next_seq


def _counted(counts: Counter[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Dictionary rows (key..., events), sorted as :func:`actor_rows` sorts them."""
    return [(*key, n) for key, n in sorted(counts.items())]
