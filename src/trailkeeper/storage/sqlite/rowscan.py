"""Raw event rows and tile ranges for ``verify``, read on a connection of its own.

``verify`` reads the log in chunks of consecutive seqs, in worker processes too: each opens
its own connection from a :class:`SQLiteRowSource` (picklable: just the path). Rows are
:data:`~trailkeeper.events.leaves.ROW_COLUMNS` tuples exactly as stored (timestamps as
integer microseconds), in ``seq`` order, duplicates included."""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from trailkeeper.events.leaves import ROW_COLUMNS
from trailkeeper.storage.exportrows import ExportRow, export_select
from trailkeeper.storage.sqlite.named import QUERIES as Q

__all__ = ["SQLiteRowReader", "SQLiteRowSource"]

_SELECT = ", ".join(ROW_COLUMNS)
_BUSY_TIMEOUT_S = 30


@dataclass(frozen=True, slots=True)
class SQLiteRowSource:
    path: str

    def open(self) -> SQLiteRowReader:
        return SQLiteRowReader(self.path)


class SQLiteRowReader:
    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=_BUSY_TIMEOUT_S)

    def rows(
        self, tenant_id: int, first: int | None, end: int | None, limit: int | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """Rows with ``first <= seq < end`` (a None bound is open: the first chunk also
        holds seqs below 0, the last anything above, numbers or not), by seq: each month
        table's rows in the order of its (tenant, seq) index, merged (one seq in two month
        tables comes in the tables' order; ``ORDER BY seq, pk`` would sort every row,
        pk being no column of the select list)."""
        where, params = _range(tenant_id, first, end)
        sql = f"SELECT {_SELECT} FROM events WHERE {where} ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return iter(self._conn.execute(sql, params))

    def native_rows(
        self, tenant_id: int, first: int | None, end: int | None, limit: int | None = None
    ) -> tuple[int, Iterator[tuple[Any, ...]]]:
        """:meth:`rows`: SQLite stores microseconds since 1970 already."""
        return 0, self.rows(tenant_id, first, end, limit)

    def tiles(self, tenant_id: int, level: int, first: int, end: int) -> dict[int, bytes]:
        """Stored tiles ``first <= idx < end`` of one tile level, by index."""
        rows = self._conn.execute(Q["tile_run"], (tenant_id, level, first, end))
        return {int(idx): bytes(blob) for idx, blob in rows}

    def last_seq(self, tenant_id: int) -> int | None:
        """The largest integer seq stored (None without rows, or if it is no integer)."""
        row = self._conn.execute(Q["max_seq"], (tenant_id,)).fetchone()
        return row[0] if type(row[0]) is int else None

    def archive_rows(
        self, tenant_id: int, first: int, last: int, batch_rows: int
    ) -> Generator[list[ExportRow]]:
        """Keyset pages on seq, each a short read (no snapshot held across them)."""
        sql = (
            f"SELECT {export_select('sqlite')} FROM events "
            "WHERE tenant_id = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?"
        )
        while first <= last:
            rows: list[ExportRow] = self._conn.execute(
                sql, (tenant_id, first, last, batch_rows)
            ).fetchall()
            if not rows:
                return
            yield rows
            first = rows[-1][1] + 1

    def close(self) -> None:
        self._conn.close()


def _range(tenant_id: int, first: int | None, end: int | None) -> tuple[str, list[Any]]:
    where, params = ["tenant_id = ?"], [tenant_id]
    if first is not None:
        where.append("seq >= ?")
        params.append(first)
    if end is not None:
        where.append("seq < ?")
        params.append(end)
    return " AND ".join(where), params
