"""Rate-limit counters in a file of their own beside the database.

SQLite has one writer per file. Counted in the main file, every request's counter update
waited for whatever ingest commit (and its fsync) held the write lock, and then made the
next commit wait in turn: two serialized transactions per single-event request where one
would do. In their own file the counters have their own writer, so a count never waits
for an ingest. They stay exact across processes (every process of the deployment opens
the same file), and they need no fsync: a crash forgets at most the current minute's
counts, as a restart would."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.named import QUERIES as Q

__all__ = ["RateCounters"]

SWEPT_KEYS = 10_000
"""Keys whose expired windows this process remembers deleting (then it starts over)."""


class RateCounters:
    """Opened at the first count, so that commands which never count create no file."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + "-rates")
        self.conns = SQLiteConnections(self.path)  # connects lazily, per thread
        self._ready = False
        self._swept: dict[str, int] = {}  # key → the window whose older rows are gone

    def hit(self, key: str, window_start: int) -> int:
        """Count one request of ``key`` in the window; the window's count so far."""
        return self.hit_many([key], window_start)[0]

    def hit_many(self, keys: Sequence[str], window_start: int) -> list[int]:
        """:meth:`hit` for each key in turn, in one transaction (the ingest queue counts a
        group of requests at once): one upsert per distinct key, and the expired windows
        of a key deleted once per window by this process."""
        if not self._ready:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))  # private, as the db
            with self.conns.write(durable=False) as conn:
                conn.execute(Q["create_rate_windows"])
            self._ready = True
        wanted = Counter(keys)
        before: dict[str, int] = {}
        with self.conns.write(durable=False) as conn:
            for key, hits in wanted.items():
                if self._swept.get(key) != window_start:  # once per key and window
                    conn.execute(Q["sweep_rate_windows"], (key, window_start))
                row = conn.execute(Q["hit"], (key, window_start, hits)).fetchone()
                before[key] = int(row[0]) - hits
        if len(self._swept) > SWEPT_KEYS:
            self._swept.clear()
        self._swept.update(dict.fromkeys(wanted, window_start))
        counts: list[int] = []
        for key in keys:  # each request's count, in turn, as if counted one by one
            before[key] += 1
            counts.append(before[key])
        return counts

    def close(self) -> None:
        self.conns.close()
