"""CSV export files: the contract's header and defusing, written by Arrow's CSV writer.

The header is :data:`trailkeeper.formats.CSV_HEADER` and a cell that a spreadsheet would run
as a formula gets one leading ``'`` (the rule of :func:`trailkeeper.formats.defuse`, applied
to whole columns here). Arrow writes the rows in C++ (the stdlib ``csv`` module would cap a
big export at about 40,000 events/s), quoting every text cell: an empty string is ``""``
and a null an empty cell, so the two stay apart for readers that care. Rows end in CRLF
(RFC 4180), like the downloads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from trailkeeper.exports.columns import BUILD_ROWS, view_columns
from trailkeeper.formats import CSV_HEADER

__all__ = ["CSV_SCHEMA", "FORMULA_PATTERN", "csv_batch", "write_csv"]

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

View = dict[str, Any]


class _Writable(Protocol):
    def write(self, data: bytes) -> object: ...


def _defused(column: pa.Array) -> pa.Array:
    risky = pc.match_substring_regex(column, FORMULA_PATTERN)
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def csv_batch(views: Sequence[View]) -> pa.RecordBatch:
    """The CSV rows of a batch of views (keep it to about :data:`BUILD_ROWS` views)."""
    columns = view_columns(views)
    arrays = []
    for field in CSV_SCHEMA:
        column = columns[_SOURCES.get(field.name, field.name)]
        arrays.append(column if field.name == "seq" else _defused(column))
    return pa.RecordBatch.from_arrays(arrays, schema=CSV_SCHEMA)


def write_csv(views: Iterator[View], sink: _Writable) -> None:
    """The header, then every view's row, a bounded batch at a time."""
    with pacsv.CSVWriter(sink, CSV_SCHEMA, write_options=_OPTIONS) as writer:
        while batch := list(islice(views, BUILD_ROWS)):
            writer.write_batch(csv_batch(batch))
