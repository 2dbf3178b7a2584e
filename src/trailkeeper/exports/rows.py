"""Raw rows to Arrow columns: the first step of every export file written from rows.

An export job reads raw rows (:mod:`trailkeeper.storage.exportrows`) and never builds API
views: Arrow converts a batch of row tuples in one pass (a struct array, split into columns
without copying), texts stay the UTF-8 bytes read, timestamps stay integers, the free-form
parts stay the JSON text stored.
The columns are built in C where it can (:mod:`trailkeeper.speedups`: one pass over the
rows into Arrow's buffers, instead of pyarrow's value-by-value conversion with the GIL held
while the reader thread needs it to build the next rows), else by pyarrow; a Hypothesis test
checks both give equal columns.
Each format then works on whole columns (:mod:`.jsonlines`, :mod:`.stamps`, :mod:`.csvfile`,
:mod:`.parquet`) and writes the same bytes as from the views, which
``tests/property/test_export_rows.py`` checks with Hypothesis on both databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from trailkeeper import speedups
from trailkeeper.exports.columns import COLUMNS
from trailkeeper.storage.exportrows import EXPORT_ROW_COLUMNS, ExportRow

__all__ = ["TIMESTAMP", "arrow_row_columns", "buffer_columns", "row_columns"]

TIMESTAMP = pa.timestamp("us", tz="UTC")
_INTEGERS = ("seq", "occurred_at", "received_at")
_STRING = pa.string()
_INT64 = pa.int64()
_ROW_TYPE = pa.struct(
    [(name, _INT64 if name in _INTEGERS else pa.binary()) for name in EXPORT_ROW_COLUMNS]
)


def row_columns(rows: Sequence[ExportRow]) -> dict[str, pa.Array]:
    """:data:`~trailkeeper.exports.columns.COLUMNS` of a batch of rows, timestamps as int64
    microseconds since the epoch."""
    buffers = None if speedups.export_columns is None else speedups.export_columns(rows)
    return arrow_row_columns(rows) if buffers is None else buffer_columns(buffers, len(rows))


def arrow_row_columns(rows: Sequence[ExportRow]) -> dict[str, pa.Array]:
    """:func:`row_columns` by pyarrow's own conversion."""
    arrays = pa.array(rows, type=_ROW_TYPE).flatten()
    return _named(
        array if name in _INTEGERS else array.view(_STRING)  # UTF-8 as stored
        for name, array in zip(EXPORT_ROW_COLUMNS, arrays, strict=True)
    )


def buffer_columns(buffers: Sequence[Any], count: int) -> dict[str, pa.Array]:
    """:func:`row_columns` from the C module's buffers (``export_columns``): per column,
    int64 values, or (validity bitmap or None, null count, int32 offsets, UTF-8 data)."""
    return _named(_from_buffers(parts, count) for parts in buffers)


def _named(arrays: Iterable[pa.Array]) -> dict[str, pa.Array]:
    """Arrays in :data:`EXPORT_ROW_COLUMNS` order, keyed and ordered by ``COLUMNS``."""
    columns = dict(zip(EXPORT_ROW_COLUMNS, arrays, strict=True))
    return {name: columns[name] for name in COLUMNS}


def _from_buffers(parts: Any, count: int) -> pa.Array:
    if isinstance(parts, bytes):
        return pa.Array.from_buffers(_INT64, count, [None, pa.py_buffer(parts)])
    validity, nulls, offsets, data = parts
    bitmap = None if validity is None else pa.py_buffer(validity)
    return pa.Array.from_buffers(
        _STRING, count, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=nulls
    )
