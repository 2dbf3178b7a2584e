"""Writing a big file that must end up on disk: send it to the disk as it grows.

An export used to ``fsync`` its file once, at the end, with all of its pages still to be
written, a pause in which nothing else happened (``docs/benchmarks.md``). Here, each time
:data:`SYNC_EVERY` more bytes are written, ``fdatasync`` runs on another thread (one at a
time) while the export goes on, so the final ``fsync`` finds little left to do. Only that
final ``fsync`` (the caller's) makes the file durable; an error of an early one is raised
by :meth:`EarlySync.finish`, since the kernel reports a write-back error only once.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, Future
from typing import BinaryIO

__all__ = ["SYNC_EVERY", "EarlySync"]

SYNC_EVERY = 64 * 1024 * 1024


class EarlySync:
    """Passes writes on to ``out`` and, every ``every`` bytes, syncs it on ``syncer``."""

    def __init__(self, out: BinaryIO, syncer: Executor, every: int = SYNC_EVERY) -> None:
        self._out = out
        self._syncer = syncer
        self._every = every
        self._unsynced = 0
        self._sync: Future[None] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> int:
        written = self._out.write(data)
        self._unsynced += written
        if self._unsynced >= self._every and (self._sync is None or self._sync.done()):
            self.finish()
            self._out.flush()
            self._sync = self._syncer.submit(os.fdatasync, self._out.fileno())
            self._unsynced = 0
        return written

    def flush(self) -> None:
        self._out.flush()

    def finish(self) -> None:
        """Wait for the sync under way; raise its error, if any."""
        if self._sync is not None:
            self._sync.result()
