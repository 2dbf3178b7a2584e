"""PostgreSQL storage: many processes, one database, monthly partitions."""

from trailkeeper.storage.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
