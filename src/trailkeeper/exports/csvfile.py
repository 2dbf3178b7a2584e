"""CSV export files: the contract's header and defusing, written by Arrow's CSV writer.

The header is :data:`trailkeeper.formats.CSV_HEADER` and a cell that a spreadsheet would run
as a formula gets one leading ``'`` (the rule of :func:`trailkeeper.formats.defuse`, applied
to whole columns here). Arrow writes the rows in C++ (the stdlib ``csv`` module was several
times slower: ``docs/benchmarks.md``), quoting every text cell: an empty string is ``""``
and a null an empty cell, so the two stay apart for readers that care. Rows end in CRLF
(RFC 4180), like the downloads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from trailkeeper.events.view import EventView
from trailkeeper.exports.columns import view_columns
from trailkeeper.formats import CSV_HEADER

__all__ = ["CSV_SCHEMA", "FORMULA_PATTERN", "csv_batch", "csv_record_batch", "write_csv"]

FORMULA_PATTERN = "^[=+\\-@'\t\r]"
"""Cells starting with one of these get a leading ``'`` (CONTRACT section 5)."""

_SOURCES = {
    "timestamp": "occurred_at", "user": "actor_name", "user_email": "actor_email",
    "event_type": "action",
}  # fmt: skip
"""CSV column → view column, where the names differ."""
CSV_SCHEMA = pa.schema(
    [(name, pa.int64() if name == "seq" else pa.string()) for name in CSV_HEADER]
)
_OPTIONS = pacsv.WriteOptions(
    include_header=True, quoting_style="needed", quoting_header="none", eol="\r\n"
)


class _Writable(Protocol):
    def write(self, data: bytes) -> object: ...


_FORMULA_STARTS = pa.array(list("=+-@'\t\r"), pa.string())
"""The first characters of :data:`FORMULA_PATTERN`: a set lookup of each cell's first
character is several times as fast as the regular expression, and most columns of most
batches have no such cell, so they are passed on as they are."""


def _defused(column: pa.Array) -> pa.Array:
    risky = pc.is_in(pc.utf8_slice_codeunits(column, 0, 1), value_set=_FORMULA_STARTS)
    if not pc.any(risky).as_py():
        return column
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def csv_batch(views: Sequence[EventView]) -> pa.RecordBatch:
    """The CSV rows of a batch of views (keep it to about
    :data:`~trailkeeper.exports.columns.BUILD_ROWS` views)."""
    return csv_record_batch(view_columns(views))


def csv_record_batch(columns: Mapping[str, pa.Array]) -> pa.RecordBatch:
    """The CSV rows of a batch's :data:`~trailkeeper.exports.columns.COLUMNS` (timestamps
    as the API's strings), defused."""
    arrays = []
    for field in CSV_SCHEMA:
        column = columns[_SOURCES.get(field.name, field.name)]
        arrays.append(column if field.name == "seq" else _defused(column))
    return pa.RecordBatch.from_arrays(arrays, schema=CSV_SCHEMA)


def write_csv(batches: Iterable[pa.RecordBatch], sink: _Writable) -> None:
    """The header, then the rows of each batch (of :data:`CSV_SCHEMA`)."""
    with pacsv.CSVWriter(sink, CSV_SCHEMA, write_options=_OPTIONS) as writer:
        for batch in batches:
            writer.write_batch(batch)
