"""Raw event rows and tile ranges for ``verify``, read on a connection of its own.

``verify`` reads the log in chunks of consecutive seqs, in worker processes too: each opens
its own connection from a :class:`PostgresRowSource` (picklable: just the URL). Rows are
:data:`~trailkeeper.events.leaves.ROW_COLUMNS` tuples in ``seq`` order, duplicates
included, read in the binary format with timestamps as integer microseconds since the Unix
epoch (PostgreSQL's own form, shifted): no datetime is built, and a value out of Python's
range is still read (and then named unreadable by the check). :meth:`PostgresRowReader.native_rows`
leaves them unshifted, counted from 2000-01-01, read by psycopg's C loader for int8 (the
same eight bytes) without a Python call per value."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, cast

import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format
from psycopg.types.numeric import Int8BinaryLoader
from psycopg.types.string import ByteaBinaryLoader

from trailkeeper.events.leaves import ROW_COLUMNS
from trailkeeper.storage.exportrows import ExportRow, export_select
from trailkeeper.storage.postgres.named import QUERIES as Q

__all__ = ["ARCHIVE_PLAN", "PostgresRowReader", "PostgresRowSource", "archive_sql"]

_SELECT = ", ".join(ROW_COLUMNS)
_PG_EPOCH_MICROS = 946_684_800_000_000
"""2000-01-01T00:00:00Z, PostgreSQL's timestamp zero, in microseconds since 1970."""
_STREAM_ROWS = 4096
ARCHIVE_PLAN = (
    b"SELECT set_config('enable_sort', 'off', true), "
    b"set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)"
)
"""Run first in the archive's transaction: the seq range is walked along the primary key.
Left to itself, the planner scanned the whole month's partition for each day (a tenth of
it) with parallel workers, sorted the rows on disk and compiled the query (figures in
``docs/benchmarks.md``, "Measured reasons in the code")."""


def archive_sql(*, as_is: bool) -> bytes:
    """The archive's query (tenant, first and last seq); ``as_is``: texts as they are
    (see :func:`~trailkeeper.storage.exportrows.export_select`)."""
    return (
        f"SELECT {export_select('postgresql', text_as_is=as_is)} FROM events "
        "WHERE tenant_id = %s AND seq >= %s AND seq <= %s ORDER BY seq"
    ).encode()


class _Micros(Loader):
    """timestamptz, binary: a big-endian int64 of microseconds since 2000-01-01."""

    format = Format.BINARY

    def load(self, data: Buffer) -> int:
        return int.from_bytes(data, "big", signed=True) + _PG_EPOCH_MICROS


@dataclass(frozen=True, slots=True)
class PostgresRowSource:
    url: str = field(repr=False)  # may hold a password

    def open(self) -> PostgresRowReader:
        return PostgresRowReader(self.url)


class PostgresRowReader:
    def __init__(self, url: str) -> None:
        self._conn = psycopg.connect(url, autocommit=True)
        self._conn.adapters.register_loader("timestamptz", _Micros)

    def rows(
        self, tenant_id: int, first: int | None, end: int | None, limit: int | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """Rows with ``first <= seq < end`` (a None bound is open), by seq then
        received_at. An open-ended read streams through a server-side cursor."""
        sql, params = _query(tenant_id, first, end, limit)
        if end is None and limit is None:
            return self._stream(sql, params)
        # the whole result arrives at once; rows become Python objects as they are read
        return iter(self._conn.cursor(binary=True).execute(sql, params))

    def native_rows(
        self, tenant_id: int, first: int | None, end: int | None, limit: int | None = None
    ) -> tuple[int, Iterator[tuple[Any, ...]]]:
        """:meth:`rows` with timestamps as PostgreSQL keeps them: microseconds since
        2000-01-01, read as int8 (a bounded read only: the chunks ``verify`` checks)."""
        if end is None and limit is None:
            return 0, self.rows(tenant_id, first, end, limit)  # streamed: as rows() reads
        cursor = self._conn.cursor(binary=True)
        cursor.adapters.register_loader("timestamptz", Int8BinaryLoader)  # C: same bytes
        rows = cursor.execute(*_query(tenant_id, first, end, limit)).fetchall()  # made in C
        return _PG_EPOCH_MICROS, iter(rows)

    def _stream(self, sql: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
        with (
            self._conn.transaction(),
            self._conn.cursor(name="trailkeeper_rows", binary=True) as cur,
        ):
            cur.itersize = _STREAM_ROWS
            cur.execute(sql, params)
            yield from cur

    def tiles(self, tenant_id: int, level: int, first: int, end: int) -> dict[int, bytes]:
        """Stored tiles ``first <= idx < end`` of one tile level, by index."""
        rows = self._conn.execute(Q["tile_run"], (tenant_id, level, first, end)).fetchall()
        return {int(idx): bytes(blob) for idx, blob in rows}

    def last_seq(self, tenant_id: int) -> int | None:
        row = self._conn.execute(Q["max_seq"], (tenant_id,)).fetchone()
        return None if row is None else row[0]

    def archive_rows(
        self, tenant_id: int, first: int, last: int, batch_rows: int
    ) -> Generator[list[ExportRow]]:
        """One query, streamed in chunks in the binary format, as exports read
        (``exports.py``): the server sends the next rows while these are written."""
        sql = archive_sql(as_is=self._conn.info.encoding == "utf-8")  # text's bytes: UTF-8
        with self._conn.transaction(), self._conn.cursor(binary=True) as cur:
            cur.execute(ARCHIVE_PLAN)
            cur.adapters.register_loader("text", ByteaBinaryLoader)  # bytes, made in C
            rows = cast("Generator[ExportRow]", cur.stream(sql, (tenant_id, first, last),
                                                           size=batch_rows))  # fmt: skip
            try:
                while batch := list(islice(rows, batch_rows)):
                    yield batch
            finally:
                rows.close()  # cancels an abandoned query

    def close(self) -> None:
        self._conn.close()


def _query(
    tenant_id: int, first: int | None, end: int | None, limit: int | None
) -> tuple[str, list[Any]]:
    where, params = _range(tenant_id, first, end)
    sql = f"SELECT {_SELECT} FROM events WHERE {where} ORDER BY seq, received_at"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    return sql, params


def _range(tenant_id: int, first: int | None, end: int | None) -> tuple[str, list[Any]]:
    where, params = ["tenant_id = %s"], [tenant_id]
    if first is not None:
        where.append("seq >= %s")
        params.append(first)
    if end is not None:
        where.append("seq < %s")
        params.append(end)
    return " AND ".join(where), params
