"""PostgreSQL: the schema version, and tenants listed and re-keyed (for the CLI and API)."""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from trailkeeper.storage.postgres.named import QUERIES as Q
from trailkeeper.storage.tenants import TenantSummary

__all__ = ["PostgresAdmin"]


class PostgresAdmin:
    pool: ConnectionPool

    def schema_version(self) -> int:
        with self.pool.connection() as conn:
            known = conn.execute(Q["schema_migrations_exists"]).fetchone()
            if known is None or known[0] is None:
                return 0
            row = conn.execute(Q["schema_version"]).fetchone()
        return 0 if row is None or row[0] is None else int(str(row[0]))

    def list_tenants(self) -> list[TenantSummary]:
        with self.pool.connection() as conn:
            rows = conn.execute(Q["list_tenants"]).fetchall()
        return [TenantSummary(*row) for row in rows]

    def log_size(self, tenant_id: int) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(Q["log_size"], (tenant_id,)).fetchone()
        return 0 if row is None else int(str(row[0]))

    def replace_webhook_secret(self, tenant_id: int, webhook_secret_sealed: bytes) -> None:
        with self.pool.connection() as conn:
            conn.execute(Q["replace_webhook_secret"], (webhook_secret_sealed, tenant_id))
