"""Web UI sessions (a use case of the UI only): a token is exchanged once for an opaque cookie id.

The cookie holds 256 random bits; the database keeps only their SHA-256 and the
hash of the token (never the token). Every request looks the token up again, so a
revoked token's session ends at its next request. CSRF tokens are an HMAC of the
session id under a key derived from the deployment key: nothing more to store."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from trailkeeper.auth.tokens import Principal, Scope
from trailkeeper.deployment_key import DeploymentKey
from trailkeeper.errors import Forbidden
from trailkeeper.service.audit import record_admin_action
from trailkeeper.service.tenancy import TenancyService
from trailkeeper.storage.protocols import EventStore, SessionStore
from trailkeeper.storage.tenants import TenantLookup, TokenRecord

__all__ = ["LoginStore", "SessionService", "UiSession"]


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


@dataclass(frozen=True, slots=True)
class UiSession:
    id: str
    principal: Principal
    csrf: str

    def allows(self, scope: Scope) -> bool:
        return self.principal.allows(scope)


class LoginStore(SessionStore, TenantLookup, EventStore, Protocol):
    """Sessions, the token and tenant behind one, and the log for ``trailkeeper.ui.login``."""

    def token_by_hash(self, token_hash: bytes) -> TokenRecord | None: ...


class SessionService:
    def __init__(
        self, store: LoginStore, tenancy: TenancyService, key: DeploymentKey, ttl_seconds: int
    ) -> None:
        self._store = store
        self._tenancy = tenancy
        self._csrf_key = key.derive(b"trailkeeper ui csrf v1")
        self.ttl = timedelta(seconds=ttl_seconds)

    def csrf_for(self, binding: str) -> str:
        """The CSRF token of a session id (or of a sign-in nonce)."""
        return hmac.new(self._csrf_key, binding.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, binding: str | None, sent: str | None) -> bool:
        if not binding or not sent:
            return False
        return hmac.compare_digest(self.csrf_for(binding), sent)

    def sign_in(self, token: str, ip: str | None) -> UiSession:
        """Check the token (``Unauthenticated`` if wrong or revoked), open a session and
        record ``trailkeeper.ui.login``. The feed needs ``audit-log:list``."""
        principal = self._tenancy.authenticate(f"Bearer {token.strip()}")
        if not principal.allows(Scope.AUDIT_LOG_LIST):
            raise Forbidden("This token lacks the 'audit-log:list' scope the web UI needs")
        session_id = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        store = self._store
        store.create_session(_digest(session_id), principal.token.token_hash, now, now + self.ttl)
        record_admin_action(
            store,
            principal.tenant.id,
            "trailkeeper.ui.login",
            principal.actor,
            source="web",
            ip=ip,
        )
        return UiSession(session_id, principal, self.csrf_for(session_id))

    def resolve(self, session_id: str | None) -> UiSession | None:
        """The live session behind a cookie, or None (unknown, expired, or its token
        revoked: then the session is deleted too)."""
        if not session_id or len(session_id) > 128:
            return None
        store = self._store
        token_hash = store.session_token(_digest(session_id), datetime.now(UTC))
        if token_hash is None:
            return None
        record = store.token_by_hash(token_hash)
        if record is None or record.revoked_at is not None:
            store.delete_session(_digest(session_id))
            return None
        tenant = store.tenant_by_id(record.tenant_id)
        assert tenant is not None, "a token always belongs to a tenant"
        return UiSession(session_id, Principal(tenant, record), self.csrf_for(session_id))

    def sign_out(self, session_id: str) -> None:
        self._store.delete_session(_digest(session_id))
