"""SQLite connections: the page cache a connection may hold depends on whether it writes."""

from __future__ import annotations

import threading
from pathlib import Path

from trailkeeper.storage.sqlite.connections import (
    READ_CACHE_KIB,
    WRITE_CACHE_KIB,
    SQLiteConnections,
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
