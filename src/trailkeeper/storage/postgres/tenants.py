"""PostgreSQL: tenants, their API tokens and the shared rate-limit windows (see
``TenantStore`` and ``RateLimitStore``)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from psycopg_pool import ConnectionPool

from trailkeeper.storage.postgres.named import QUERIES as Q
from trailkeeper.storage.queries import tenant_of
from trailkeeper.storage.tenants import Tenant, TokenRecord

__all__ = ["PostgresTenants"]


class PostgresTenants:
    pool: ConnectionPool

    def _first_row(self, name: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        """The first row of the named query, if any."""
        with self.pool.connection() as conn:
            return conn.execute(Q[name], params).fetchone()

    def create_tenant(self, name: str, webhook_secret_sealed: bytes) -> Tenant:
        row = self._first_row("create_tenant", (name, webhook_secret_sealed))
        assert row is not None
        return Tenant(row[0], name, webhook_secret_sealed)

    def tenant_by_name(self, name: str) -> Tenant | None:
        return tenant_of(self._first_row("tenant_by_name", (name,)))

    def tenant_by_id(self, tenant_id: int) -> Tenant | None:
        return tenant_of(self._first_row("tenant_by_id", (tenant_id,)))

    def tenants(self) -> list[Tenant]:
        with self.pool.connection() as conn:
            return [Tenant(r[0], r[1], bytes(r[2])) for r in conn.execute(Q["tenants"])]

    def create_token(
        self, token_id: str, tenant_id: int, name: str, token_hash: bytes, scopes: Sequence[str]
    ) -> TokenRecord:
        row = self._first_row("create_token", (token_id, tenant_id, name, token_hash, list(scopes)))
        assert row is not None
        return _token(row)

    def token_by_hash(self, token_hash: bytes) -> TokenRecord | None:
        row = self._first_row("token_by_hash", (token_hash,))
        return None if row is None else _token(row)

    def list_tokens(self, tenant_id: int) -> list[TokenRecord]:
        with self.pool.connection() as conn:
            return [_token(row) for row in conn.execute(Q["list_tokens"], (tenant_id,))]

    def revoke_token(self, tenant_id: int, token_id: str) -> TokenRecord | None:
        with self.pool.connection() as conn:
            conn.execute(Q["revoke_token"], (tenant_id, token_id))
            row = conn.execute(Q["token_of_tenant"], (tenant_id, token_id)).fetchone()
        return None if row is None else _token(row)

    def live_tokens(self, token_ids: Sequence[str]) -> set[str]:
        with self.pool.connection() as conn:
            rows = conn.execute(Q["live_tokens"], (list(dict.fromkeys(token_ids)),))
            return {str(r[0]) for r in rows}

    def hit_many(self, keys: Sequence[str], window_start: int, window_seconds: int) -> list[int]:
        return [self.hit(key, window_start, window_seconds) for key in keys]

    def hit(self, key: str, window_start: int, window_seconds: int) -> int:
        with self.pool.connection() as conn:
            if random.random() < 0.01:  # occasional sweep of expired windows
                conn.execute(Q["sweep_rate_windows"], (window_start - window_seconds,))
            row = conn.execute(Q["hit"], (key, window_start)).fetchone()
        assert row is not None
        return int(row[0])


def _token(row: Sequence[Any]) -> TokenRecord:
    return TokenRecord(
        id=row[0],
        tenant_id=row[1],
        name=row[2],
        scopes=tuple(row[3]),
        created_at=row[4],
        revoked_at=row[5],
        token_hash=bytes(row[6]),
    )
