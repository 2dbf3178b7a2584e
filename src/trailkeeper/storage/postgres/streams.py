"""PostgreSQL: streams (:mod:`trailkeeper.storage.streamsql`), times as ``timestamptz``,
JSON as ``jsonb``. Any number of processes share them: the lease is a compare-and-set
on the stream's row, which PostgreSQL's row lock makes atomic."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from trailkeeper.storage.streamsql import SqlStreams

__all__ = ["PostgresStreams"]


class PostgresStreams(SqlStreams):
    pool: ConnectionPool
    _p = "%s"
    _greatest = "greatest"

    def _stream_fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.pool.connection() as conn:
            return conn.execute(sql.encode(), params).fetchall()

    def _stream_write(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.pool.connection() as conn, conn.transaction():
            cursor = conn.execute(sql.encode(), params)
            return cursor.fetchall() if cursor.description is not None else []

    def _time_in(self, moment: datetime | None) -> Any:
        return moment

    def _time_out(self, value: Any) -> datetime | None:
        return value  # type: ignore[no-any-return]

    def _json_in(self, value: dict[str, Any]) -> Any:
        return Jsonb(value)

    def _json_out(self, value: Any) -> dict[str, Any]:
        return dict(value)
