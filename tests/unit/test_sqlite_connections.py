"""SQLite connections: the page cache a connection may hold depends on whether it writes;
``bytes`` and ``None`` are bound as they always were without the adapter search."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from trailkeeper.storage.sqlite.connections import (
    READ_CACHE_KIB,
    WRITE_CACHE_KIB,
    SQLiteConnections,
    bind_without_adapter_search,
)


def _cache_kib(conns: SQLiteConnections) -> int:
    (pages,) = conns.connection().execute("PRAGMA cache_size").fetchone()
    return int(-pages)


def test_a_reading_thread_keeps_the_small_cache_and_a_writer_gets_the_large_one(
    tmp_path: Path,
) -> None:
    conns = SQLiteConnections(tmp_path / "t.db")
    try:
        assert _cache_kib(conns) == READ_CACHE_KIB < WRITE_CACHE_KIB
        with conns.write() as conn:
            conn.execute("CREATE TABLE t (x INTEGER)")
        assert _cache_kib(conns) == WRITE_CACHE_KIB

        seen: list[int] = []  # another thread: its own connection, still a reader's
        reader = threading.Thread(target=lambda: seen.append(_cache_kib(conns)))
        reader.start()
        reader.join()
        assert seen == [READ_CACHE_KIB]
    finally:
        conns.close()


class _Bytes(bytes):
    """A subclass: not the registered exact type, so still searched (and bound as a BLOB)."""


def test_the_adapters_are_registered_for_exact_bytes_and_none(tmp_path: Path) -> None:
    SQLiteConnections(tmp_path / "t.db").close()
    for kind in (bytes, type(None)):
        assert (kind, sqlite3.PrepareProtocol) in sqlite3.adapters
    assert (_Bytes, sqlite3.PrepareProtocol) not in sqlite3.adapters


values = st.lists(st.none() | st.binary(max_size=300) | st.binary().map(_Bytes), max_size=8)


@given(values)
def test_bytes_and_none_are_stored_as_blob_and_null(row: list[bytes | None]) -> None:
    bind_without_adapter_search()
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE TABLE t (n INTEGER, v)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(row)))
        stored = conn.execute("SELECT typeof(v), v FROM t ORDER BY n").fetchall()
    finally:
        conn.close()
    expected = [("null", None) if v is None else ("blob", bytes(v)) for v in row]
    assert stored == expected
    assert all(type(v) is bytes for kind, v in stored if kind == "blob")
