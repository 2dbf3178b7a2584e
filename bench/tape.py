"""Record the SQL the product's store issues, so a baseline can replay exactly that SQL.

The read baseline must be "the same SELECT, straight to the database". The store builds its SQL
from several steps (value lookups, then the page query) that change as the product evolves, so
rather than re-deriving it, the bench calls the store in-process with a tape running and replays
what was recorded on its own connection. Recording hooks the drivers of the bench process only:
``sqlite3.connect`` gets a connection factory whose ``execute`` records, and
``psycopg.Cursor.execute`` records before executing. Nothing is recorded unless a tape runs.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg

__all__ = ["Statement", "install", "recording"]

Statement = tuple[Any, Any]  # (query as given to the driver, parameters)
_local = threading.local()
_installed = False


def _record(query: Any, params: Any) -> None:
    tape: list[Statement] | None = getattr(_local, "tape", None)
    if tape is not None:
        if params is not None and not isinstance(params, Mapping):
            params = tuple(params)
        tape.append((query, params))


class _RecordingConnection(sqlite3.Connection):
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        _record(sql, parameters)
        return super().execute(sql, parameters)


def install() -> None:
    """Hook both drivers (idempotent). Call before the store opens connections."""
    global _installed
    if _installed:
        return
    connect = sqlite3.connect

    def recording_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", _RecordingConnection)
        conn: sqlite3.Connection = connect(*args, **kwargs)
        return conn

    execute = psycopg.Cursor.execute

    def recording_execute(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        _record(query, params)
        return execute(self, query, params, **kwargs)

    setattr(sqlite3, "connect", recording_connect)  # noqa: B010 (monkeypatch on purpose)
    setattr(psycopg.Cursor, "execute", recording_execute)  # noqa: B010
    _installed = True


@contextmanager
def recording() -> Iterator[list[Statement]]:
    """Collect the statements this thread issues inside the block."""
    tape: list[Statement] = []
    _local.tape = tape
    try:
        yield tape
    finally:
        _local.tape = None


def is_read(statement: Statement) -> bool:
    """SELECT (or WITH … SELECT): what a read request costs in the database."""
    query = statement[0]
    if isinstance(query, bytes | bytearray):
        text = bytes(query).decode(errors="replace")
    elif isinstance(query, str):
        text = query
    else:
        return False
    head = text.lstrip().split(None, 1)[0].upper() if text.strip() else ""
    return head in ("SELECT", "WITH")
