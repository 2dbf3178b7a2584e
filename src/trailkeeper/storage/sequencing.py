"""The sequencing decision both backends make inside their write transaction.

Given what the log already holds for the batch's ids, decide for each draft:
return the original receipt (a retry), refuse (same id, other content), or
give it the next ``seq``. Pure, so both backends share one tested rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from trailkeeper.errors import Conflict
from trailkeeper.events.record import Draft
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.storage.protocols import Receipt

__all__ = ["Existing", "Sequenced", "sequence_batch"]


@dataclass(frozen=True, slots=True)
class Existing:
    seq: int
    content_hash: bytes
    leaf_hash: bytes


@dataclass(slots=True)
class Sequenced:
    receipts: list[Receipt] = field(default_factory=list)
    new: list[tuple[int, int, bytes]] = field(default_factory=list)
    """``(index in the batch, seq, leaf hash)`` of each event to store."""
    next_seq: int = 0


def sequence_batch(
    drafts: Sequence[Draft],
    existing: Mapping[str, Existing],
    next_seq: int,
    received_at: datetime,
) -> Sequenced:
    out = Sequenced(next_seq=next_seq)
    received = orjson.dumps(format_timestamp(received_at))
    in_batch: dict[str, tuple[bytes, Receipt, int]] = {}
    for index, draft in enumerate(drafts):
        event_id = draft.id
        known = existing.get(event_id)
        if known is not None:
            _same_or_conflict(index, event_id, known.content_hash, draft.content_hash, known.seq)
            out.receipts.append(Receipt(event_id, known.seq, known.leaf_hash.hex()))
            continue
        earlier = in_batch.get(event_id)
        if earlier is not None:
            if earlier[0] != draft.content_hash:
                raise _twice_in_batch(event_id, earlier[2], index)
            out.receipts.append(earlier[1])
            continue
        leaf = draft.leaf_hash(out.next_seq, received)
        receipt = Receipt(event_id, out.next_seq, leaf.hex())
        in_batch[event_id] = (draft.content_hash, receipt, index)
        out.receipts.append(receipt)
        out.new.append((index, out.next_seq, leaf))
        out.next_seq += 1
    return out


def _same_or_conflict(index: int, event_id: str, stored: bytes, sent: bytes, seq: int) -> None:
    if stored != sent:
        raise Conflict(
            f"Event id {event_id!r} is already in the log (seq {seq}) with different "
            "content; nothing was stored. Use a new id for a new event.",
            details=[{"index": index, "field": "id", "message": "already used with other content"}],
        )


def _twice_in_batch(event_id: str, first: int, second: int) -> Conflict:
    """The batch itself holds the id twice: nothing of it is stored, no seq is named."""
    return Conflict(
        f"Event id {event_id!r} appears twice in this batch (events {first} and {second}) "
        "with different content; nothing was stored. Give each event its own id.",
        details=[
            {"index": second, "field": "id", "message": f"same id as event {first}, other content"}
        ],
    )
