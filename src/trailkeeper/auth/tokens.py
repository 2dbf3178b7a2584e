"""API tokens: ``tk_`` + 43 random URL-safe characters, stored only as SHA-256.

A token carries 256 bits of entropy, so a fast hash is enough (no password
stretching needed); the lookup is by hash and the final comparison is
constant-time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from trailkeeper.storage.tenants import Tenant, TokenRecord

__all__ = [
    "Principal",
    "Scope",
    "hash_token",
    "new_token",
    "new_token_id",
    "new_webhook_secret",
    "parse_scopes",
    "tokens_match",
]

TOKEN_PREFIX = "tk_"  # noqa: S105 (a prefix, not a secret)
_TOKEN_SHAPE = re.compile(r"^tk_[A-Za-z0-9_-]{32,128}$")


class Scope(StrEnum):
    EVENTS_WRITE = "events:write"
    AUDIT_LOG_LIST = "audit-log:list"
    AUDIT_LOG_EXPORT = "audit-log:export"
    STREAMS_MANAGE = "streams:manage"
    TOKENS_MANAGE = "tokens:manage"
    RETENTION_MANAGE = "retention:manage"
    ADMIN = "admin"


def parse_scopes(values: list[str]) -> tuple[Scope, ...]:
    """Validate scope names; raise ``ValueError`` naming the allowed ones."""
    allowed = {s.value: s for s in Scope}
    names = ", ".join(allowed)
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise ValueError(
            f"unknown scope(s) {unknown}; choose from {names}"
            if unknown
            else f"at least one scope is required; choose from {names}"
        )
    return tuple(dict.fromkeys(allowed[v] for v in values))


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return "tok_" + secrets.token_hex(8)


def new_webhook_secret() -> str:
    """Standard Webhooks secrets are ``whsec_`` + *standard* base64 of the key bytes:
    that is how every verifier library decodes them."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def well_formed(token: str) -> bool:
    return _TOKEN_SHAPE.match(token) is not None


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def tokens_match(stored_hash: bytes, token: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_token(token))


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a live token and its tenant."""

    tenant: Tenant
    token: TokenRecord

    def allows(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.token.scopes or scope in self.token.scopes

    def lacks(self, scopes: Iterable[str]) -> list[str]:
        """Those of ``scopes`` this token does not hold: what it may not grant or revoke."""
        if Scope.ADMIN in self.token.scopes:
            return []
        return [s for s in scopes if s not in self.token.scopes]

    @property
    def actor(self) -> dict[str, str]:
        """The token as the actor of self-audit events."""
        return {"id": self.token.id, "type": "service_account", "name": self.token.name}
