"""Storage: protocols and the two backends, chosen once from settings."""

from __future__ import annotations

from trailkeeper.settings import Settings
from trailkeeper.storage.protocols import Store

__all__ = ["Store", "open_store"]


def open_store(settings: Settings) -> Store:
    """PostgreSQL when a database URL is set, else SQLite under the data dir."""
    if settings.database_url:
        from trailkeeper.storage.postgres import PostgresStore

        return PostgresStore(settings.database_url, pool_size=settings.pool_size)
    from trailkeeper.storage.sqlite import SQLiteStore

    return SQLiteStore(settings.sqlite_path)
