"""Tenants and tokens: creation, listing, revocation and authentication."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from trailkeeper.auth.tokens import (
    Principal,
    hash_token,
    new_token,
    new_token_id,
    new_webhook_secret,
    parse_scopes,
    tokens_match,
    well_formed,
)
from trailkeeper.deployment_key import DeploymentKey
from trailkeeper.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unauthenticated
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.service.audit import CLI_ACTOR, record_admin_action
from trailkeeper.storage.protocols import EventStore
from trailkeeper.storage.tenants import Tenant, TenantStore, TokenRecord

__all__ = ["TenancyService", "TenancyStore", "token_view"]

_TENANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def token_view(record: TokenRecord) -> dict[str, Any]:
    """A token as listed: never the token itself, which is not stored."""
    return {
        "id": record.id,
        "name": record.name,
        "scopes": list(record.scopes),
        "created_at": format_timestamp(record.created_at),
        "revoked_at": None if record.revoked_at is None else format_timestamp(record.revoked_at),
    }


PRINCIPAL_CACHE = 4096
"""Principals remembered for :meth:`TenancyService.remembered` (cleared when full)."""


class TenancyStore(TenantStore, EventStore, Protocol):
    """Tenants and tokens, and the log for the token events."""


class TenancyService:
    def __init__(self, store: TenancyStore, key: DeploymentKey) -> None:
        self._store = store
        self._key = key
        self._principals: dict[bytes, Principal] = {}

    def create_tenant(self, name: str) -> dict[str, str]:
        """A tenant with an admin token; both secrets are shown once, here."""
        if not _TENANT_NAME.match(name):
            raise InvalidRequest(
                "A tenant name is 1 to 64 ASCII letters, digits, '-', '_' or '.', "
                "starting with a letter or digit"
            )
        if self._store.tenant_by_name(name) is not None:
            raise Conflict(f"Tenant {name!r} already exists")
        secret = new_webhook_secret()
        tenant = self._store.create_tenant(name, self._key.seal(secret))
        created = self.create_token(tenant, "admin", ["admin"], actor=None)
        return {"tenant": name, "admin_token": created["token"], "webhook_secret": secret}

    def tenant(self, name: str) -> Tenant:
        tenant = self._store.tenant_by_name(name)
        if tenant is None:
            raise NotFound(f"No tenant named {name!r}; create it with `trailkeeper tenants create`")
        return tenant

    def webhook_secret(self, tenant: Tenant) -> str:
        return self._key.open(tenant.webhook_secret_sealed)

    def list_tenants(self) -> list[dict[str, Any]]:
        """Every tenant (for operators: the CLI), oldest first; never a secret."""
        return [
            {"tenant": t.name, "created_at": format_timestamp(t.created_at), "events": t.events}
            for t in self._store.list_tenants()
        ]

    def rotate_webhook_secret(self, tenant: Tenant, actor: Principal | None) -> dict[str, str]:
        """A new ``whsec_`` secret, shown once, here. Deliveries sent from now on, retries
        of earlier ones included, are signed with it; the old one stops working."""
        secret = new_webhook_secret()
        self._store.replace_webhook_secret(tenant.id, self._key.seal(secret))
        record_admin_action(
            self._store,
            tenant.id,
            "trailkeeper.webhook_secret.rotated",
            _actor(actor),
            resource={"type": "tenant", "id": tenant.name, "name": tenant.name},
            source="cli" if actor is None else "api",
        )
        return {"tenant": tenant.name, "webhook_secret": secret}

    def create_token(
        self,
        tenant: Tenant,
        name: str,
        scopes: Sequence[str],
        actor: Principal | None,
    ) -> dict[str, Any]:
        if not name or len(name) > 128:
            raise InvalidRequest("A token name is 1 to 128 characters")
        try:
            parsed = parse_scopes(list(scopes))
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        beyond = [] if actor is None else actor.lacks(s.value for s in parsed)
        if beyond:
            raise Forbidden(f"A token can only grant scopes it holds; this one lacks {beyond}")
        token = new_token()
        record = self._store.create_token(
            new_token_id(), tenant.id, name, hash_token(token), [s.value for s in parsed]
        )
        record_admin_action(
            self._store,
            tenant.id,
            "trailkeeper.token.created",
            _actor(actor),
            resource={"type": "token", "id": record.id, "name": name},
            metadata={"scopes": list(record.scopes)},
            source="cli" if actor is None else "api",
        )
        return {"token": token, **token_view(record)}

    def list_tokens(self, tenant: Tenant) -> list[dict[str, Any]]:
        return [token_view(r) for r in self._store.list_tokens(tenant.id)]

    def revoke_token(
        self, tenant: Tenant, token_id: str, actor: Principal | None
    ) -> dict[str, Any]:
        known = {t.id: t for t in self._store.list_tokens(tenant.id)}.get(token_id)
        if known is None:
            raise NotFound(f"No token {token_id!r} in this tenant")
        beyond = [] if actor is None else actor.lacks(known.scopes)
        if beyond:
            raise Forbidden(
                f"A token can only revoke tokens whose scopes it holds; this one lacks {beyond}"
            )
        if known.revoked_at is not None:
            return token_view(known)  # already revoked: nothing changes, nothing to audit
        record = self._store.revoke_token(tenant.id, token_id)
        assert record is not None
        record_admin_action(
            self._store,
            tenant.id,
            "trailkeeper.token.revoked",
            _actor(actor),
            resource={"type": "token", "id": record.id, "name": record.name},
            source="cli" if actor is None else "api",
        )
        return token_view(record)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal behind an ``Authorization: Bearer tk_…`` header."""
        if not authorization:
            raise Unauthenticated("Send an API token as 'Authorization: Bearer tk_…'")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not well_formed(token):
            raise Unauthenticated("The Authorization header must be 'Bearer tk_…'")
        record = self._store.token_by_hash(hash_token(token))
        if record is None or record.revoked_at is not None:
            raise Unauthenticated("This token is not valid or has been revoked")
        if not tokens_match(record.token_hash, token):
            raise Unauthenticated("This token is not valid or has been revoked")
        tenant = self._store.tenant_by_id(record.tenant_id)
        assert tenant is not None, "a token always belongs to a tenant"
        principal = Principal(tenant=tenant, token=record)
        if len(self._principals) >= PRINCIPAL_CACHE:
            self._principals.clear()
        self._principals[record.token_hash] = principal
        return principal

    def remembered(self, authorization: str | None) -> Principal | None:
        """The principal :meth:`authenticate` found for this header before, if any, without
        a database read. It may have been revoked since: only the ingest queue uses it, and
        it asks the store which of a group's tokens are live before it counts or stores
        anything (one query per group instead of two per request)."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self._principals.get(hash_token(token.strip()))

    def forget(self, principal: Principal) -> None:
        """Drop a remembered principal (its token was found revoked)."""
        self._principals.pop(principal.token.token_hash, None)


def _actor(principal: Principal | None) -> dict[str, Any]:
    return dict(CLI_ACTOR) if principal is None else principal.actor
