"""PostgreSQL: web UI sessions (see ``SessionStore``), shared by every process."""

from __future__ import annotations

from datetime import datetime

from psycopg_pool import ConnectionPool

from trailkeeper.storage.postgres.named import QUERIES as Q

__all__ = ["PostgresSessions"]


class PostgresSessions:
    pool: ConnectionPool

    def create_session(
        self, id_hash: bytes, token_hash: bytes, created_at: datetime, expires_at: datetime
    ) -> None:
        with self.pool.connection() as conn:
            conn.execute(Q["drop_expired_sessions"], (created_at,))
            conn.execute(Q["create_session"], (id_hash, token_hash, created_at, expires_at))

    def session_token(self, id_hash: bytes, now: datetime) -> bytes | None:
        with self.pool.connection() as conn:
            row = conn.execute(Q["session_token"], (id_hash, now)).fetchone()
        return None if row is None else bytes(row[0])

    def delete_session(self, id_hash: bytes) -> None:
        with self.pool.connection() as conn:
            conn.execute(Q["delete_session"], (id_hash,))
