"""PostgreSQL: web UI sessions (see ``SessionStore``), shared by every process."""

from __future__ import annotations

from datetime import datetime

from psycopg_pool import ConnectionPool

__all__ = ["PostgresSessions"]


class PostgresSessions:
    pool: ConnectionPool

    def create_session(
        self, id_hash: bytes, token_hash: bytes, created_at: datetime, expires_at: datetime
    ) -> None:
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM ui_sessions WHERE expires_at <= %s", (created_at,))
            conn.execute(
                "INSERT INTO ui_sessions (id_hash, token_hash, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s)",
                (id_hash, token_hash, created_at, expires_at),
            )

    def session_token(self, id_hash: bytes, now: datetime) -> bytes | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT token_hash FROM ui_sessions WHERE id_hash = %s AND expires_at > %s",
                (id_hash, now),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def delete_session(self, id_hash: bytes) -> None:
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM ui_sessions WHERE id_hash = %s", (id_hash,))
