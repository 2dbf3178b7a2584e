"""PostgreSQL: the schema version, and tenants listed and re-keyed (for the CLI and API)."""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from trailkeeper.storage.tenants import TenantSummary

__all__ = ["PostgresAdmin"]


class PostgresAdmin:
    pool: ConnectionPool

    def schema_version(self) -> int:
        with self.pool.connection() as conn:
            known = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
            if known is None or known[0] is None:
                return 0
            row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return 0 if row is None or row[0] is None else int(str(row[0]))

    def list_tenants(self) -> list[TenantSummary]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, name, created_at, next_seq FROM tenants ORDER BY created_at, id"
            ).fetchall()
        return [TenantSummary(*row) for row in rows]

    def log_size(self, tenant_id: int) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT next_seq FROM tenants WHERE id = %s", (tenant_id,)
            ).fetchone()
        return 0 if row is None else int(str(row[0]))

    def replace_webhook_secret(self, tenant_id: int, webhook_secret_sealed: bytes) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE tenants SET webhook_secret = %s WHERE id = %s",
                (webhook_secret_sealed, tenant_id),
            )
