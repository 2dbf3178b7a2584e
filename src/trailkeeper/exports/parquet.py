"""The Parquet layout of export files: one typed column per field, flat, queryable.

A data team loads the file into DuckDB, Spark, Athena or pandas and filters on columns
directly, so nothing is nested: ``actor`` and ``resource`` become columns, as in the CSV;
the free-form parts (``changes``, ``run``, ``metadata``) are JSON text, which every engine
can parse and which keeps the exact values the leaf hash was computed from.

======================  ==========================  ==========================================
column                  type                        holds
======================  ==========================  ==========================================
``id``                  string, not null            the event id
``seq``                 int64, not null             its 0-based place in the tenant's log
``action``              string, not null
``category``            string, not null
``occurred_at``         timestamp(us, UTC), not null
``received_at``         timestamp(us, UTC), not null
``actor_id``            string, not null
``actor_type``          string, not null
``actor_name``          string                      personal data (null once erased)
``actor_email``         string                      personal data (null once erased)
``resource_type``       string                      null when the event has no resource
``resource_id``         string
``resource_name``       string
``source``              string, not null
``ip``                  string                      personal data
``user_agent``          string                      personal data
``changes``             string                      JSON text of the list of changes
``run_id``              string                      ``run.id``, for filtering without JSON
``run``                 string                      JSON text of the run
``metadata``            string                      JSON text of the metadata object
``pii``                 string, not null            hex commitment to the personal data
``leaf_hash``           string, not null            hex RFC 9162 leaf hash
``pii_salt``            string                      hex; null once the personal data is erased
======================  ==========================  ==========================================

Rows are in ``seq`` order, in row groups of at most :data:`ROW_GROUP_ROWS` rows (memory stays
bounded while writing and reading), compressed with zstd. The file's key-value metadata carries
``trailkeeper.export = 1`` so readers can tell the layout version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trailkeeper.events.view import EventView
from trailkeeper.exports.columns import COLUMNS, view_columns

__all__ = [
    "COMPRESSION",
    "ROW_GROUP_ROWS",
    "SCHEMA",
    "ParquetLayoutError",
    "check_layout",
    "columns_batch",
    "parquet_views",
    "record_batch",
    "write_parquet",
]

ROW_GROUP_ROWS = 16_384
"""Rows per row group: large enough for good compression, small enough to hold in memory."""
COMPRESSION = "zstd"
"""Read by every current engine (DuckDB, Spark, Athena, BigQuery, pandas); half snappy's size."""
_UNIQUE = {"id", "seq", "occurred_at", "received_at", "changes", "run", "metadata", "pii",
           "leaf_hash", "pii_salt"}  # fmt: skip
DICTIONARY_COLUMNS = [name for name in COLUMNS if name not in _UNIQUE]
"""Columns whose values repeat (actions, actors, resources, sources...). The rest are unique
per event or nearly so: a dictionary there costs memory and time until Parquet gives up on
it, and makes the file no smaller."""
LAYOUT_KEY = b"trailkeeper.export"
LAYOUT_VERSION = b"1"

_TS = pa.timestamp("us", tz="UTC")
_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # %S includes the microseconds for "us" values
_REQUIRED = {"id", "seq", "action", "category", "occurred_at", "received_at", "actor_id",
             "actor_type", "source", "pii", "leaf_hash"}  # fmt: skip
_TYPES = {"seq": pa.int64(), "occurred_at": _TS, "received_at": _TS}
SCHEMA = pa.schema(
    [pa.field(name, _TYPES.get(name, pa.string()), nullable=name not in _REQUIRED)
     for name in COLUMNS],
    metadata={LAYOUT_KEY: LAYOUT_VERSION},
)  # fmt: skip

_STRING = pa.string()


class ParquetLayoutError(ValueError):
    """The Parquet file does not have the export layout (wrong columns or types)."""


def record_batch(views: Sequence[EventView]) -> pa.RecordBatch:
    """One batch of rows for :data:`SCHEMA` (keep it to about
    :data:`~trailkeeper.exports.columns.BUILD_ROWS` views)."""
    return columns_batch(view_columns(views))


def columns_batch(columns: Mapping[str, pa.Array]) -> pa.RecordBatch:
    """One batch of rows for :data:`SCHEMA` from a batch's
    :data:`~trailkeeper.exports.columns.COLUMNS` (timestamps as strings or UTC timestamps)."""
    arrays = [columns[f.name].cast(_TS) if f.type == _TS else columns[f.name] for f in SCHEMA]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def write_parquet(batches: Iterable[pa.RecordBatch], sink: Any) -> None:
    """Row groups of ``ROW_GROUP_ROWS`` rows made of the batches given (of :data:`SCHEMA`,
    :data:`~trailkeeper.exports.columns.BUILD_ROWS` rows each but the last: the same batches
    give the same bytes).

    ``sink`` is a writable binary file (pyarrow needs ``write``, ``tell``, ``flush`` and
    ``closed``); it stays open."""
    with pq.ParquetWriter(
        sink, SCHEMA, compression=COMPRESSION, use_dictionary=DICTIONARY_COLUMNS
    ) as writer:
        group: list[pa.RecordBatch] = []
        rows = 0
        for batch in batches:
            group.append(batch)
            rows += batch.num_rows
            if rows >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_batches(group), row_group_size=rows)
                group, rows = [], 0
        if group:
            writer.write_table(pa.Table.from_batches(group), row_group_size=rows)


def check_layout(schema: pa.Schema) -> None:
    """Refuse files whose columns are not :data:`SCHEMA`'s, naming the first difference."""
    names = tuple(schema.names)
    if names != COLUMNS:
        missing = [c for c in COLUMNS if c not in names]
        extra = [c for c in names if c not in COLUMNS]
        detail = (
            f"missing {missing[0]!r}"
            if missing
            else f"unexpected {extra[0]!r}"
            if extra
            else "columns are in another order"
        )
        raise ParquetLayoutError(f"not a trailkeeper export file: {detail}")
    for field in SCHEMA:
        found = schema.field(field.name).type
        if found != field.type:
            raise ParquetLayoutError(
                f"not a trailkeeper export file: column {field.name!r} is {found}, "
                f"expected {field.type}"
            )


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _views(batch: pa.RecordBatch) -> Iterator[tuple[EventView, str | None]]:
    """Rows of a batch back as API views (timestamps formatted as the API does), each
    with its ``run_id`` cell."""
    cols: dict[str, list[Any]] = {}
    for name in COLUMNS:
        column = batch.column(name)
        if name in ("occurred_at", "received_at"):
            column = pc.strftime(column, format=_TIMESTAMP_FORMAT)
        cols[name] = column.to_pylist()
    for i in range(batch.num_rows):
        resource_type = cols["resource_type"][i]
        view: EventView = {
            "id": cols["id"][i],
            "seq": cols["seq"][i],
            "action": cols["action"][i],
            "category": cols["category"][i],
            "occurred_at": cols["occurred_at"][i],
            "received_at": cols["received_at"][i],
            "actor": {
                "id": cols["actor_id"][i],
                "type": cols["actor_type"][i],
                "name": cols["actor_name"][i],
                "email": cols["actor_email"][i],
            },
            "resource": None
            if resource_type is None and cols["resource_id"][i] is None
            else {
                "type": resource_type,
                "id": cols["resource_id"][i],
                "name": cols["resource_name"][i],
            },
            "source": cols["source"][i],
            "ip": cols["ip"][i],
            "user_agent": cols["user_agent"][i],
            "changes": _loads(cols["changes"][i]),
            "run": _loads(cols["run"][i]),
            "metadata": _loads(cols["metadata"][i]),
            "pii": cols["pii"][i],
            "leaf_hash": cols["leaf_hash"][i],
            "pii_salt": cols["pii_salt"][i],
        }
        yield view, cols["run_id"][i]


def parquet_views(
    source: BinaryIO, progress: Callable[[float], None] | None = None
) -> Iterator[tuple[EventView, str | None]]:
    """``(view, run_id cell)`` for every row in order, one row group at a time.

    ``progress`` is told the fraction of rows read after each batch. Raises
    :class:`ParquetLayoutError` for a file of another layout (and pyarrow's errors for a
    file that is not Parquet at all)."""
    file = pq.ParquetFile(source)
    check_layout(file.schema_arrow)
    total = file.metadata.num_rows
    done = 0
    for batch in file.iter_batches(batch_size=ROW_GROUP_ROWS):
        yield from _views(batch)
        done += batch.num_rows
        if progress is not None and total:
            progress(done / total)
