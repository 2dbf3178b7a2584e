"""The embedded default: one SQLite file in WAL mode."""

from trailkeeper.storage.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
