"""SQLite: the schema version, and tenants listed and re-keyed (for the CLI and API)."""

from __future__ import annotations

from trailkeeper.events.timestamps import from_micros
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.named import QUERIES as Q
from trailkeeper.storage.tenants import TenantSummary

__all__ = ["SQLiteAdmin"]


class SQLiteAdmin:
    conns: SQLiteConnections

    def schema_version(self) -> int:
        conn = self.conns.connection()
        known = conn.execute(Q["schema_migrations_exists"]).fetchone()
        if known is None:
            return 0
        row = conn.execute(Q["schema_version"]).fetchone()
        return int(row[0] or 0)

    def list_tenants(self) -> list[TenantSummary]:
        rows = self.conns.connection().execute(Q["list_tenants"])
        return [TenantSummary(r[0], r[1], from_micros(r[2]), r[3]) for r in rows]

    def log_size(self, tenant_id: int) -> int:
        row = self.conns.connection().execute(Q["log_size"], (tenant_id,)).fetchone()
        return 0 if row is None else int(row[0])

    def replace_webhook_secret(self, tenant_id: int, webhook_secret_sealed: bytes) -> None:
        with self.conns.write() as conn:
            conn.execute(Q["replace_webhook_secret"], (webhook_secret_sealed, tenant_id))
