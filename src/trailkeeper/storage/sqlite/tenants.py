"""SQLite: tenants and their API tokens (see ``TenantStore``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from trailkeeper.events.timestamps import from_micros
from trailkeeper.storage.queries import tenant_of
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.named import QUERIES as Q
from trailkeeper.storage.tenants import Tenant, TokenRecord

__all__ = ["SQLiteTenants"]


class SQLiteTenants:
    conns: SQLiteConnections
    _now_micros: Callable[[], int]

    def _first_row(self, name: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        """The first row of the named query, if any."""
        row: tuple[Any, ...] | None = self.conns.connection().execute(Q[name], params).fetchone()
        return row

    def create_tenant(self, name: str, webhook_secret_sealed: bytes) -> Tenant:
        with self.conns.write() as conn:
            cursor = conn.execute(
                Q["create_tenant"], (name, webhook_secret_sealed, self._now_micros())
            )
            assert cursor.lastrowid is not None
            return Tenant(cursor.lastrowid, name, webhook_secret_sealed)

    def tenant_by_name(self, name: str) -> Tenant | None:
        return tenant_of(self._first_row("tenant_by_name", (name,)))

    def tenant_by_id(self, tenant_id: int) -> Tenant | None:
        return tenant_of(self._first_row("tenant_by_id", (tenant_id,)))

    def tenants(self) -> list[Tenant]:
        rows = self.conns.connection().execute(Q["tenants"])
        return [Tenant(row[0], row[1], bytes(row[2])) for row in rows]

    def create_token(
        self, token_id: str, tenant_id: int, name: str, token_hash: bytes, scopes: Sequence[str]
    ) -> TokenRecord:
        now = self._now_micros()
        scopes_json = orjson.dumps(list(scopes)).decode()
        with self.conns.write() as conn:
            conn.execute(
                Q["create_token"], (token_id, tenant_id, name, token_hash, scopes_json, now)
            )
        return TokenRecord(
            token_id, tenant_id, name, tuple(scopes), from_micros(now), None, token_hash
        )

    def token_by_hash(self, token_hash: bytes) -> TokenRecord | None:
        row = self._first_row("token_by_hash", (token_hash,))
        return None if row is None else _token(row)

    def live_tokens(self, token_ids: Sequence[str]) -> set[str]:
        ids = list(dict.fromkeys(token_ids))
        marks = ", ".join("?" * len(ids))  # an IN list the length of the call's: not named
        rows = self.conns.connection().execute(
            f"SELECT id FROM tokens WHERE id IN ({marks}) AND revoked_at IS NULL", ids
        )
        return {str(r[0]) for r in rows}

    def list_tokens(self, tenant_id: int) -> list[TokenRecord]:
        rows = self.conns.connection().execute(Q["list_tokens"], (tenant_id,))
        return [_token(row) for row in rows]

    def revoke_token(self, tenant_id: int, token_id: str) -> TokenRecord | None:
        with self.conns.write() as conn:
            conn.execute(Q["revoke_token"], (self._now_micros(), tenant_id, token_id))
            row = conn.execute(Q["token_of_tenant"], (tenant_id, token_id)).fetchone()
        return None if row is None else _token(row)


def _token(row: Sequence[Any]) -> TokenRecord:
    return TokenRecord(
        id=row[0],
        tenant_id=row[1],
        name=row[2],
        scopes=tuple(orjson.loads(row[3])),
        created_at=from_micros(row[4]),
        revoked_at=None if row[5] is None else from_micros(row[5]),
        token_hash=bytes(row[6]),
    )
