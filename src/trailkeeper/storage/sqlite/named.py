"""The SQLite backend's named queries (``queries.sql``), read once."""

from __future__ import annotations

from trailkeeper.storage.queries import load_queries

__all__ = ["QUERIES"]

QUERIES = load_queries("trailkeeper.storage.sqlite")
