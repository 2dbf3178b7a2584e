"""Row ⇄ view mapping shared by both backends: one column list, one shape."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, Protocol

import orjson

from trailkeeper.events.record import Draft
from trailkeeper.events.timestamps import format_micros
from trailkeeper.events.view import EventView
from trailkeeper.rowlayout import EVENT_COLUMNS
from trailkeeper.storage.exportrows import ExportRow

__all__ = [
    "EVENT_COLUMNS",
    "INSERT_COLUMNS",
    "READ_COLUMNS",
    "RowReader",
    "RowSource",
    "insert_rows",
    "scanned_view",
    "sequenced_rows",
    "view_from_row",
]


INSERT_COLUMNS = (
    "tenant_id", *EVENT_COLUMNS, "run_id", "pii_salt", "content_hash",
)  # fmt: skip


def _json_or_none(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


READ_COLUMNS = (*EVENT_COLUMNS, "pii_salt IS NULL AS pii_erased")
"""What reads select: the event, then whether its personal data was erased (an erased
event has no salt; every stored event gets one at ingest)."""


def view_from_row(row: Sequence[Any], timestamp: Callable[[Any], str]) -> EventView:
    """Build the API view from a row selected with ``EVENT_COLUMNS`` (or
    ``READ_COLUMNS``: then an erased event says ``pii_erased: true``)."""
    erased = len(row) > len(EVENT_COLUMNS) and bool(row[len(EVENT_COLUMNS)])
    (
        id_, seq, action, category, occurred_at, received_at,
        actor_id, actor_type, actor_name, actor_email,
        resource_type, resource_id, resource_name,
        source, ip, user_agent, changes, run, metadata, pii, leaf,
    ) = row[: len(EVENT_COLUMNS)]  # fmt: skip
    view: EventView = {
        "id": id_,
        "seq": seq,
        "action": action,
        "category": category,
        "occurred_at": timestamp(occurred_at),
        "received_at": timestamp(received_at),
        "actor": {"id": actor_id, "type": actor_type, "name": actor_name, "email": actor_email},
        "resource": None
        if resource_type is None
        else {"type": resource_type, "id": resource_id, "name": resource_name},
        "source": source,
        "ip": ip,
        "user_agent": user_agent,
        "changes": _json_or_none(changes),
        "run": _json_or_none(run),
        "metadata": _json_or_none(metadata),
        "pii": pii,
        "leaf_hash": bytes(leaf).hex(),
    }
    if erased:
        view["pii_erased"] = True
    return view


class RowReader(Protocol):
    """Raw rows (:data:`~trailkeeper.events.leaves.ROW_COLUMNS`, timestamps as integer
    microseconds) and tile ranges, on a connection of the reader's own: what ``verify``
    and ``Store.scan`` read."""

    def rows(
        self, tenant_id: int, first: int | None, end: int | None, limit: int | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """Rows with ``first <= seq < end`` in seq order, duplicates included; a None
        bound is open (below: negative seqs too; above: anything, numbers or not)."""

    def native_rows(
        self, tenant_id: int, first: int | None, end: int | None, limit: int | None = None
    ) -> tuple[int, Iterator[tuple[Any, ...]]]:
        """The rows of :meth:`rows`, read the cheapest way, with where their timestamps
        count from: integer microseconds since that epoch (itself in microseconds since
        1970, a whole number of days): the store's own form, no Python call per value."""

    def tiles(self, tenant_id: int, level: int, first: int, end: int) -> dict[int, bytes]:
        """Stored tiles ``first <= idx < end`` of one tile level, by index."""

    def last_seq(self, tenant_id: int) -> int | None:
        """The largest seq stored, if any (and if it is an integer)."""

    def archive_rows(
        self, tenant_id: int, first: int, last: int, batch_rows: int
    ) -> Generator[list[ExportRow]]:
        """Raw export rows of ``first <= seq <= last`` in seq order, a batch at a time:
        what a retention archive holds."""

    def close(self) -> None: ...


class RowSource(Protocol):
    """Where a :class:`RowReader` reads: picklable, so that worker processes open their
    own connections."""

    def open(self) -> RowReader: ...


def scanned_view(row: Sequence[Any]) -> tuple[EventView, bytes | None]:
    """The view and the decoded ``pii_salt`` of a raw row (``ValueError`` and friends
    when a column holds what trailkeeper never writes)."""
    salt = row[-1]
    return view_from_row(row[:-1], format_micros), None if salt is None else bytes.fromhex(salt)


def insert_rows(
    tenant_id: int, drafts: Sequence[Draft], occurred: Sequence[Any]
) -> list[list[Any]]:
    """The values for ``INSERT_COLUMNS`` of each draft (``occurred``: its ``occurred_at`` in
    the backend's form), made before the write transaction; ``seq``, ``received_at`` and
    ``leaf_hash`` are None until :func:`sequenced_rows` fills them in.

    One loop for the batch with its lookups bound once: a function call per event and
    three per JSON column cost about a third of the rows' time."""
    dumps = orjson.dumps
    rows: list[list[Any]] = []
    append = rows.append
    for draft, occurred_at in zip(drafts, occurred, strict=True):
        view = draft.view
        actor = view["actor"]
        resource = view["resource"]
        changes, run, metadata = view["changes"], view["run"], view["metadata"]
        append(
            [
                tenant_id,
                view["id"],
                None,
                view["action"],
                view["category"],
                occurred_at,
                None,
                actor["id"],
                actor["type"],
                actor["name"],
                actor["email"],
                None if resource is None else resource["type"],
                None if resource is None else resource["id"],
                None if resource is None else resource["name"],
                view["source"],
                view["ip"],
                view["user_agent"],
                None if changes is None else dumps(changes).decode(),
                None if run is None else dumps(run).decode(),
                None if metadata is None else dumps(metadata).decode(),
                view["pii"],
                None,
                None if run is None else run["id"],
                draft.pii_salt,
                draft.content_hash,
            ]
        )
    return rows


_SEQ = INSERT_COLUMNS.index("seq")
_RECEIVED_AT = INSERT_COLUMNS.index("received_at")
_LEAF_HASH = INSERT_COLUMNS.index("leaf_hash")


def sequenced_rows(
    rows: Sequence[list[Any]], new: Sequence[tuple[int, int, bytes]], received_at: Any
) -> list[list[Any]]:
    """The rows of the events a batch stores (``Sequenced.new``: index in the batch,
    seq, leaf hash), completed in place."""
    out = []
    for index, seq, leaf in new:
        row = rows[index]
        row[_SEQ] = seq
        row[_RECEIVED_AT] = received_at
        row[_LEAF_HASH] = leaf
        out.append(row)
    return out
