"""SQLite rate-limit counters: exact across stores of one file, never behind an ingest."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from trailkeeper.storage.sqlite import SQLiteStore


def test_counts_are_shared_by_every_store_of_the_file(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "db.sqlite3")
    second = SQLiteStore(tmp_path / "db.sqlite3")  # as another process would
    try:
        assert [first.hit("k", 60, 60), second.hit("k", 60, 60), first.hit("k", 60, 60)] == [
            1,
            2,
            3,
        ]
        assert second.hit("k", 120, 60) == 1  # a new window starts again
        assert second.hit("other", 120, 60) == 1
    finally:
        first.close()
        second.close()
    mode = stat.S_IMODE((tmp_path / "db.sqlite3-rates").stat().st_mode)
    assert mode & 0o077 == 0


def test_a_count_does_not_wait_for_the_ingest_writer(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    counted: list[int] = []
    try:
        with store.conns.write():  # an ingest transaction in progress holds the writer
            thread = threading.Thread(target=lambda: counted.append(store.hit("k", 0, 60)))
            thread.start()
            thread.join(timeout=20)
            assert counted == [1]
    finally:
        store.close()


def test_hit_many_counts_each_key_in_turn_like_hit(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    try:
        assert store.hit("a", 60, 60) == 1
        assert store.hit_many(["a", "b", "a", "a"], 60, 60) == [2, 1, 3, 4]
        assert store.hit_many(["a"], 120, 60) == [1]  # a new window starts again
    finally:
        store.close()


def test_expired_windows_are_swept_once_the_window_moves_on(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    try:
        assert store.hit_many(["a", "a", "b"], 60, 60) == [1, 2, 1]
        assert store.hit_many(["a"], 60, 60) == [3]  # same window: nothing to sweep
        assert store.hit_many(["a"], 120, 60) == [1]
        rows = store._rates.conns.connection().execute(
            "SELECT key, window_start, hits FROM rate_windows ORDER BY key, window_start"
        )
        assert rows.fetchall() == [("a", 120, 1), ("b", 60, 1)]  # b is swept at its next count
    finally:
        store.close()
