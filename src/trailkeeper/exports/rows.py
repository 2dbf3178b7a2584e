"""Raw rows to Arrow columns: the first step of the CSV and Parquet files written from rows.

An export job reads raw rows (:mod:`trailkeeper.storage.exportrows`) and never builds API
views: Arrow converts a batch of row tuples in one pass (a struct array, split into columns
without copying), texts stay the UTF-8 bytes read, timestamps stay integers, the free-form
parts stay the JSON text stored.
Each format then works on whole columns (:mod:`.stamps`, :mod:`.csvfile`, :mod:`.parquet`)
and writes the same bytes as from the views, which ``tests/property/test_export_rows.py``
checks with Hypothesis on both databases. (A C loop that built these columns was removed:
no target depended on it, ``docs/benchmarks.md``.)
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from trailkeeper.exports.columns import COLUMNS
from trailkeeper.storage.exportrows import EXPORT_ROW_COLUMNS, ExportRow

__all__ = ["TIMESTAMP", "row_columns"]

TIMESTAMP = pa.timestamp("us", tz="UTC")
_INTEGERS = ("seq", "occurred_at", "received_at")
_STRING = pa.string()
_ROW_TYPE = pa.struct(
    [(name, pa.int64() if name in _INTEGERS else pa.binary()) for name in EXPORT_ROW_COLUMNS]
)


def row_columns(rows: Sequence[ExportRow]) -> dict[str, pa.Array]:
    """:data:`~trailkeeper.exports.columns.COLUMNS` of a batch of rows, timestamps as int64
    microseconds since the epoch."""
    arrays = pa.array(rows, type=_ROW_TYPE).flatten()
    columns = {
        name: array if name in _INTEGERS else array.view(_STRING)  # UTF-8 as stored
        for name, array in zip(EXPORT_ROW_COLUMNS, arrays, strict=True)
    }
    return {name: columns[name] for name in COLUMNS}
