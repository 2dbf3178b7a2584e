"""The raw rows that export files are written from: no view dicts, no datetimes, no str.

Building each event's API view (two datetimes formatted, the stored JSON parsed only to be
dumped again) cost more than reading the row, so export files are written straight from
rows (:mod:`trailkeeper.exports.rows`). Both backends select the same layout,
:data:`EXPORT_ROW_COLUMNS`: timestamps as integer microseconds since the Unix epoch (what
SQLite stores; PostgreSQL computes it, so the driver builds no datetime), ``leaf_hash`` as
lowercase hex (computed by the database), and every text as its UTF-8 bytes (the free-form
parts as the JSON text stored): the drivers copy bytes instead of decoding text into
``str``, and Arrow takes the bytes as they are.
"""

from __future__ import annotations

from typing import Final, Literal

from trailkeeper.rowlayout import EXPORT_ROW_COLUMNS

__all__ = ["EXPORT_ROW_COLUMNS", "LEAF_HASH", "OCCURRED_AT", "RECEIVED_AT", "SEQ", "ExportRow",
           "export_select"]  # fmt: skip

ExportRow = tuple[
    bytes, int, bytes, bytes, int, int, bytes, bytes, bytes | None, bytes | None,
    bytes | None, bytes | None, bytes | None, bytes, bytes | None, bytes | None,
    bytes | None, bytes | None, bytes | None, bytes, bytes, bytes | None, bytes | None,
]  # fmt: skip
"""One row of :data:`EXPORT_ROW_COLUMNS`."""

SEQ: Final = 1
OCCURRED_AT: Final = 4
RECEIVED_AT: Final = 5
LEAF_HASH: Final = 20
"""Positions in :data:`EXPORT_ROW_COLUMNS`, as literals so that types follow."""

_INTEGERS = ("seq", "occurred_at", "received_at")
_POSTGRES = {
    # extract(epoch ...) is an exact numeric since PostgreSQL 14: no rounding.
    "occurred_at": "(extract(epoch FROM occurred_at) * 1000000)::int8",
    "received_at": "(extract(epoch FROM received_at) * 1000000)::int8",
    "leaf_hash": "convert_to(encode(leaf_hash, 'hex'), 'UTF8')",
}
_SQLITE = {"leaf_hash": "CAST(lower(hex(leaf_hash)) AS BLOB)"}


def export_select(backend: Literal["sqlite", "postgresql"], *, text_as_is: bool = False) -> str:
    """The select list of :data:`EXPORT_ROW_COLUMNS` for ``backend``'s ``events`` table.
    ``text_as_is`` (PostgreSQL): the texts selected as they are, for a reader that loads
    binary ``text`` as bytes (``convert_to`` per column was a quarter of the server's
    time, ``docs/benchmarks.md``); the same bytes where the client encoding is UTF-8."""
    exprs, as_bytes = (
        (_POSTGRES, "{}" if text_as_is else "convert_to({}, 'UTF8')")
        if backend == "postgresql"
        else (_SQLITE, "CAST({} AS BLOB)")
    )
    return ", ".join(
        exprs.get(name, name if name in _INTEGERS else as_bytes.format(name))
        for name in EXPORT_ROW_COLUMNS
    )
