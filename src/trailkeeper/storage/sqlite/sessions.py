"""SQLite: web UI sessions (see ``SessionStore``)."""

from __future__ import annotations

from datetime import datetime

from trailkeeper.events.timestamps import to_micros
from trailkeeper.storage.sqlite.connections import SQLiteConnections

__all__ = ["SQLiteSessions"]


class SQLiteSessions:
    conns: SQLiteConnections

    def create_session(
        self, id_hash: bytes, token_hash: bytes, created_at: datetime, expires_at: datetime
    ) -> None:
        with self.conns.write() as conn:
            conn.execute("DELETE FROM ui_sessions WHERE expires_at <= ?", (to_micros(created_at),))
            conn.execute(
                "INSERT INTO ui_sessions (id_hash, token_hash, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (id_hash, token_hash, to_micros(created_at), to_micros(expires_at)),
            )

    def session_token(self, id_hash: bytes, now: datetime) -> bytes | None:
        row = (
            self.conns.connection()
            .execute(
                "SELECT token_hash FROM ui_sessions WHERE id_hash = ? AND expires_at > ?",
                (id_hash, to_micros(now)),
            )
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def delete_session(self, id_hash: bytes) -> None:
        with self.conns.write() as conn:
            conn.execute("DELETE FROM ui_sessions WHERE id_hash = ?", (id_hash,))
