"""SQLite: streams (:mod:`trailkeeper.storage.streamsql`), times as integer microseconds,
JSON as text, every write in ``BEGIN IMMEDIATE`` (the claim is a compare-and-set there)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from trailkeeper.events.timestamps import from_micros, to_micros
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.named import QUERIES
from trailkeeper.storage.streamsql import SqlStreams

__all__ = ["SQLiteStreams"]


class SQLiteStreams(SqlStreams):
    conns: SQLiteConnections
    _queries = QUERIES
    _p = "?"
    _greatest = "max"

    def _stream_fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.conns.connection().execute(sql, params).fetchall()

    def _stream_write(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.conns.write() as conn:
            return conn.execute(sql, params).fetchall()

    def _time_in(self, moment: datetime | None) -> Any:
        return None if moment is None else to_micros(moment)

    def _time_out(self, value: Any) -> datetime | None:
        return None if value is None else from_micros(value)

    def _json_in(self, value: dict[str, Any]) -> Any:
        return orjson.dumps(value).decode()

    def _json_out(self, value: Any) -> dict[str, Any]:
        loaded: dict[str, Any] = orjson.loads(value)
        return loaded
