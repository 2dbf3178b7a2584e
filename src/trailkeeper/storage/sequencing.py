"""The sequencing decision both backends make inside their write transaction.

Given what the log already holds for the batch's ids, decide for each draft:
return the original receipt (a retry), refuse (same id, other content), or
give it the next ``seq``. Pure, so both backends share one tested rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat

import orjson

from trailkeeper.errors import Conflict
from trailkeeper.events.record import sequenced_leaf_hash
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.storage.protocols import Receipt
from trailkeeper.storage.ready import ReadyBatch

__all__ = ["Existing", "Sequenced", "all_new", "each_in_turn", "sequence_batch"]


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
    batch: ReadyBatch,
    existing: Mapping[str, Existing],
    next_seq: int,
    received_at: datetime,
) -> Sequenced:
    received = orjson.dumps(format_timestamp(received_at))
    if not existing and len(set(batch.ids)) == len(batch.ids):
        return all_new(batch, next_seq, received)
    return each_in_turn(batch, existing, next_seq, received)


def each_in_turn(
    batch: ReadyBatch, existing: Mapping[str, Existing], next_seq: int, received: bytes
) -> Sequenced:
    """:func:`sequence_batch`, one event after the other (``received``: the JSON string
    of ``received_at``)."""
    out = Sequenced(next_seq=next_seq)
    in_batch: dict[str, tuple[bytes, Receipt, int]] = {}
    content_hashes, leaves = batch.content_hashes, batch.leaves
    for index, event_id in enumerate(batch.ids):
        content_hash = content_hashes[index]
        known = existing.get(event_id)
        if known is not None:
            _same_or_conflict(index, event_id, known.content_hash, content_hash, known.seq)
            out.receipts.append(Receipt(event_id, known.seq, known.leaf_hash.hex()))
            continue
        earlier = in_batch.get(event_id)
        if earlier is not None:
            if earlier[0] != content_hash:
                raise _twice_in_batch(event_id, earlier[2], index)
            out.receipts.append(earlier[1])
            continue
        leaf = sequenced_leaf_hash(leaves[index], out.next_seq, received)
        receipt = Receipt(event_id, out.next_seq, leaf.hex())
        in_batch[event_id] = (content_hash, receipt, index)
        out.receipts.append(receipt)
        out.new.append((index, out.next_seq, leaf))
        out.next_seq += 1
    return out


def all_new(batch: ReadyBatch, next_seq: int, received: bytes) -> Sequenced:
    """:func:`each_in_turn` of a batch whose ids are all new and distinct (a bulk load's
    usual batch, and the API's): every event gets the next seq, in order, in one pass."""
    seqs = range(next_seq, next_seq + len(batch.ids))
    leaves = list(map(sequenced_leaf_hash, batch.leaves, seqs, repeat(received)))
    receipts = list(map(Receipt, batch.ids, seqs, [leaf.hex() for leaf in leaves]))
    return Sequenced(receipts, list(zip(range(len(seqs)), seqs, leaves, strict=True)), seqs.stop)


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
