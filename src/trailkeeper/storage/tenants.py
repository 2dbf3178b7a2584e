"""Tenants and their API tokens as stored, and the storage interface that keeps them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["Tenant", "TenantLookup", "TenantStore", "TenantSummary", "TokenRecord"]


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    name: str
    webhook_secret_sealed: bytes


@dataclass(frozen=True, slots=True)
class TenantSummary:
    """A tenant as ``tenants list`` shows it; never its secret."""

    id: int
    name: str
    created_at: datetime
    events: int  # the log's size: the next seq


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    tenant_id: int
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None
    token_hash: bytes


class TenantLookup(Protocol):
    def tenant_by_id(self, tenant_id: int) -> Tenant | None: ...


class TenantStore(TenantLookup, Protocol):
    def create_tenant(self, name: str, webhook_secret_sealed: bytes) -> Tenant: ...

    def tenant_by_name(self, name: str) -> Tenant | None: ...

    def tenants(self) -> list[Tenant]:
        """Every tenant, by id."""

    def list_tenants(self) -> list[TenantSummary]:
        """Every tenant, oldest first."""
        ...

    def replace_webhook_secret(self, tenant_id: int, webhook_secret_sealed: bytes) -> None: ...

    def log_size(self, tenant_id: int) -> int:
        """The seq the tenant's next new event gets (committed events only)."""
        ...

    def create_token(
        self, token_id: str, tenant_id: int, name: str, token_hash: bytes, scopes: Sequence[str]
    ) -> TokenRecord: ...

    def token_by_hash(self, token_hash: bytes) -> TokenRecord | None: ...

    def live_tokens(self, token_ids: Sequence[str]) -> set[str]:
        """Those of ``token_ids`` that exist and are not revoked (one query)."""
        ...

    def list_tokens(self, tenant_id: int) -> list[TokenRecord]: ...

    def revoke_token(self, tenant_id: int, token_id: str) -> TokenRecord | None: ...
