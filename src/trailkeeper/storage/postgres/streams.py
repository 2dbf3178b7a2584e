"""PostgreSQL: streams (:mod:`trailkeeper.storage.streamsql`), times as ``timestamptz``,
JSON as ``jsonb``. Any number of processes share them: the lease is a compare-and-set
on the stream's row, which PostgreSQL's row lock makes atomic, timed by the database's
clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from trailkeeper.storage.exportrows import ExportRow
from trailkeeper.storage.postgres.named import QUERIES
from trailkeeper.storage.streamsql import SqlStreams

__all__ = ["PostgresStreams"]


class PostgresStreams(SqlStreams):
    pool: ConnectionPool
    _queries = QUERIES
    _p = "%s"
    _greatest = "greatest"

    def _stream_fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.pool.connection() as conn:
            return conn.execute(sql.encode(), params).fetchall()

    def _stream_write(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.pool.connection() as conn, conn.transaction():
            cursor = conn.execute(sql.encode(), params)
            return cursor.fetchall() if cursor.description is not None else []

    def _stream_rows_fetch(self, sql: str, params: list[Any]) -> list[ExportRow]:
        """A stream's next batch, walked in seq order along an index, never sorted.

        Left to itself, the planner sorts every event after the cursor to keep the first
        thousand whenever its statistics are stale (a month's new partition, a log that
        grew since the last ``ANALYZE``): it guessed ~100 rows where 100,000 were, and
        each batch cost a scan and a sort of the whole backlog, growing with it, where the
        index walk reads a batch's rows only (docs/benchmarks.md, "Measured reasons in the
        code"). Exports pin the same plan (``postgres/exports.py``). Binary rows: bytea as
        bytes, not hex text."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SET LOCAL enable_sort = off")
            rows = conn.cursor(binary=True).execute(sql.encode(), params).fetchall()
        return cast("list[ExportRow]", rows)

    def _clock(self, seconds: float = 0.0) -> tuple[str, list[Any]]:
        """PostgreSQL's clock, shared by every process whatever host it runs on (each
        host's own may be off: a process ahead would take live leases, one behind would
        take a dead process's streams over late). ``clock_timestamp()``, not ``now()``:
        the moment of the statement, not of its transaction's start."""
        return "(clock_timestamp() + %s * interval '1 second')", [seconds]

    def _time_in(self, moment: datetime | None) -> Any:
        return moment

    def _time_out(self, value: Any) -> datetime | None:
        return value  # type: ignore[no-any-return]

    def _json_in(self, value: dict[str, Any]) -> Any:
        return Jsonb(value)

    def _json_out(self, value: Any) -> dict[str, Any]:
        return dict(value)
