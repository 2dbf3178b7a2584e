"""SQLite: web UI sessions (see ``SessionStore``)."""

from __future__ import annotations

from datetime import datetime

from trailkeeper.events.timestamps import to_micros
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.named import QUERIES as Q

__all__ = ["SQLiteSessions"]


class SQLiteSessions:
    conns: SQLiteConnections

    def create_session(
        self, id_hash: bytes, token_hash: bytes, created_at: datetime, expires_at: datetime
    ) -> None:
        with self.conns.write() as conn:
            conn.execute(Q["drop_expired_sessions"], (to_micros(created_at),))
            conn.execute(
                Q["create_session"],
                (id_hash, token_hash, to_micros(created_at), to_micros(expires_at)),
            )

    def session_token(self, id_hash: bytes, now: datetime) -> bytes | None:
        conn = self.conns.connection()
        row = conn.execute(Q["session_token"], (id_hash, to_micros(now))).fetchone()
        return None if row is None else bytes(row[0])

    def delete_session(self, id_hash: bytes) -> None:
        with self.conns.write() as conn:
            conn.execute(Q["delete_session"], (id_hash,))
