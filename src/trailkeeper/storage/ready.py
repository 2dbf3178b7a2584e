"""A batch made ready for the write transaction: everything that does not depend on the
log's state, in plain values.

Both backends append :class:`ReadyBatch` es: the API makes them from drafts before the
write lock, and ``trailkeeper ingest`` in worker processes, which send them to the process
that writes (they pickle as lists of strings, bytes and numbers; no view dicts, no
drafts). What is left for the write transaction is sequencing (a leaf hash per new event),
the insert, the dictionaries' upserts and the commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from trailkeeper.events.record import Draft, LeafParts
from trailkeeper.events.timestamps import to_micros
from trailkeeper.storage.dictionaries import Rows, action_rows, actor_rows
from trailkeeper.storage.rows import INSERT_COLUMNS, insert_rows

__all__ = ["OccurredForm", "ReadyBatch", "ready_batch"]

_ACTION = INSERT_COLUMNS.index("action")
_ACTOR_ID = INSERT_COLUMNS.index("actor_id")
_ACTOR_NAME = INSERT_COLUMNS.index("actor_name")
_ACTOR_EMAIL = INSERT_COLUMNS.index("actor_email")


@dataclass(slots=True)
class ReadyBatch:
    """One batch's rows (``INSERT_COLUMNS``; ``seq``, ``received_at`` and ``leaf_hash``
    None until sequenced) and, per event, what sequencing needs: its id, content hash and
    leaf pieces (:class:`~trailkeeper.events.record.Draft`'s)."""

    tenant_id: int
    ids: list[str]
    content_hashes: list[bytes]
    leaves: list[LeafParts]
    rows: list[list[Any]]
    actors: Rows
    """The dictionary rows of every event of the batch (:func:`actor_rows`)."""
    actions: Rows

    def __len__(self) -> int:
        return len(self.ids)

    def dictionaries(self, new: Sequence[tuple[int, int, bytes]]) -> tuple[Rows, Rows]:
        """(actor rows, action rows) of the events stored (``Sequenced.new``): those of
        the whole batch, unless some events were retries and are not stored."""
        if len(new) == len(self.ids):
            return self.actors, self.actions
        return _dictionaries(self.tenant_id, [self.rows[index] for index, _, _ in new])


def _dictionaries(tenant_id: int, rows: Sequence[list[Any]]) -> tuple[Rows, Rows]:
    actors = actor_rows(tenant_id, ((r[_ACTOR_ID], r[_ACTOR_NAME], r[_ACTOR_EMAIL]) for r in rows))
    return actors, action_rows(tenant_id, (r[_ACTION] for r in rows))


OccurredForm = Literal["micros", "datetime"]
"""How a backend stores ``occurred_at``: integer microseconds since 1970 (SQLite), or the
datetime itself (PostgreSQL's ``timestamptz``)."""


def ready_batch(tenant_id: int, drafts: Sequence[Draft], form: OccurredForm) -> ReadyBatch:
    """The batch of ``drafts``, ``occurred_at`` in the backend's ``form``."""
    if form == "micros":
        rows = insert_rows(tenant_id, drafts, [to_micros(d.occurred_at) for d in drafts])
    else:
        rows = insert_rows(tenant_id, drafts, [d.occurred_at for d in drafts])
    actors, actions = _dictionaries(tenant_id, rows)
    return ReadyBatch(
        tenant_id,
        [d.id for d in drafts],
        [d.content_hash for d in drafts],
        [d.leaf for d in drafts],
        rows,
        actors,
        actions,
    )
