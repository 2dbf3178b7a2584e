"""SQLite: the schema version, and tenants listed and re-keyed (for the CLI and API)."""

from __future__ import annotations

from trailkeeper.events.timestamps import from_micros
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.tenants import TenantSummary

__all__ = ["SQLiteAdmin"]


class SQLiteAdmin:
    conns: SQLiteConnections

    def schema_version(self) -> int:
        conn = self.conns.connection()
        known = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        if known is None:
            return 0
        row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    def list_tenants(self) -> list[TenantSummary]:
        rows = self.conns.connection().execute(
            "SELECT id, name, created_at, next_seq FROM tenants ORDER BY created_at, id"
        )
        return [TenantSummary(r[0], r[1], from_micros(r[2]), r[3]) for r in rows]

    def log_size(self, tenant_id: int) -> int:
        row = (
            self.conns.connection()
            .execute("SELECT next_seq FROM tenants WHERE id = ?", (tenant_id,))
            .fetchone()
        )
        return 0 if row is None else int(row[0])

    def replace_webhook_secret(self, tenant_id: int, webhook_secret_sealed: bytes) -> None:
        with self.conns.write() as conn:
            conn.execute(
                "UPDATE tenants SET webhook_secret = ? WHERE id = ?",
                (webhook_secret_sealed, tenant_id),
            )
