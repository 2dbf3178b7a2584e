"""SQLite connections: one per thread, WAL, and a process-wide writer lock.

SQLite allows one writer at a time; taking an in-process lock before
``BEGIN IMMEDIATE`` keeps threads from spinning on ``SQLITE_BUSY``, while
``BEGIN IMMEDIATE`` with a busy timeout still serializes other processes."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

__all__ = ["SQLiteConnections", "bind_without_adapter_search"]

BUSY_TIMEOUT_MS = 30_000
WAL_AUTOCHECKPOINT_PAGES = 16_384
"""Copy the WAL back into the database once it holds 64 MiB (at 4 KiB pages), not 4 MiB.

An ingest batch of 1,000 events dirties ~2,500 pages, most of them index leaves (one per
distinct actor, resource, ip… in the batch); with SQLite's default of 1,000 pages every
commit ran a checkpoint, inside the write lock, copying each of those pages to the
database and syncing it. A page rewritten by the next few batches is now copied once.
Durability is unchanged: with ``synchronous = FULL`` each commit syncs the WAL before
it returns. The cost is a WAL of up to ~80 MB and longer recovery after a crash."""

READ_CACHE_KIB = 8_192
WRITE_CACHE_KIB = 65_536
"""Page cache per connection: 8 MiB for a connection that only reads, 64 MiB once it writes.

Every thread has its own connection, and a request thread's cache keeps the pages its
queries read until it holds its whole allowance: at 64 MiB each, the server grew by ~60 MB
over the list benchmark's reads, and a pool of 40 request threads could hold 2.5 GiB. Reads
of pages the OS already caches cost a copy; a writer keeps the large cache so the index
leaves a batch dirties stay in memory between commits."""


_NONE = cast("Callable[[None], None]", {}.get)
"""None -> None (a look-up in an empty dict): a C call, as ``bytes.__bytes__`` is."""


def bind_without_adapter_search() -> None:
    """Have ``sqlite3`` bind ``bytes`` and ``None`` parameters without searching for an adapter.

    CPython's ``sqlite3`` binds exact ``int``, ``float``, ``str`` and ``bytearray`` values at
    once; any other value (``bytes``, ``None``) is first offered to the adapter registry: a
    dict lookup, then ``PrepareProtocol.__adapt__``, whose failed lookup formats an
    ``AttributeError`` only to clear it, then the value's ``__conform__``. That was ~2,100
    instructions a parameter, and an event row has about six such (hashes, JSON columns,
    absent fields): ~5% of the server's instructions per event ingested in batches
    (``python -m bench.ingest_ir``). An adapter registered for the exact type ends the search
    at the dict lookup; these two give back the value they are given (a ``bytes`` object
    itself, ``None``), so what is bound is unchanged: a BLOB and a NULL. The registry is the
    module's, for the whole process; registering again changes nothing."""
    sqlite3.register_adapter(bytes, bytes.__bytes__)  # b -> b itself (exact bytes only)
    sqlite3.register_adapter(type(None), _NONE)


def _fold(text: str | None) -> str | None:
    return None if text is None else text.casefold()


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. Switching needs an exclusive lock, and SQLite reports a
    concurrent opener as "locked" at once instead of waiting, so retry briefly."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class SQLiteConnections:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self.write_lock = threading.Lock()
        self._writers: set[int] = set()  # id() of connections given the writer's cache
        bind_without_adapter_search()

    def _open(self, synchronous: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _enable_wal(conn)
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
        # Unicode case folding for short `q` searches (SQLite's own folds ASCII only).
        conn.create_function("fold", 1, _fold, deterministic=True)
        with self._all_lock:
            self._all.append(conn)
        return conn

    def connection(self, *, durable: bool = True) -> sqlite3.Connection:
        """This thread's connection. ``durable=False`` skips fsync (rate counters)."""
        name = "durable" if durable else "fast"
        conn: sqlite3.Connection | None = getattr(self._local, name, None)
        if conn is None:
            conn = self._open("FULL" if durable else "NORMAL")
            setattr(self._local, name, conn)
        return conn

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction; committed (and, if durable, fsynced) on exit."""
        conn = self.connection(durable=durable)
        with self.write_lock, self.transaction(conn):
            yield conn

    @contextmanager
    def transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on an error); the caller holds
        ``write_lock``."""
        if id(conn) not in self._writers:
            conn.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
            self._writers.add(id(conn))
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # also when COMMIT itself failed (e.g. a deferred check)
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for multi-statement reads."""
        conn = self.connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
            self._writers.clear()
        self._local = threading.local()
