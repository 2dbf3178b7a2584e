"""Request dependencies as ``Annotated`` aliases: the service, the caller, the query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trailkeeper.auth.tokens import Principal, Scope
from trailkeeper.errors import Forbidden, InvalidRequest
from trailkeeper.events.query import FILTER_NAMES, EventQuery
from trailkeeper.service import Trailkeeper

__all__ = [
    "Exporter",
    "Filters",
    "Reader",
    "Service",
    "StreamManager",
    "TokenManager",
    "Writer",
    "base_url",
    "caller_with",
]


def _service(request: Request) -> Trailkeeper:
    service: Trailkeeper = request.app.state.trailkeeper
    return service


Service = Annotated[Trailkeeper, Depends(_service)]
# Declared so that /docs offers "Authorize"; the header is checked by the service.
_bearer = HTTPBearer(auto_error=False, description="An API token: tk_…")


def caller_with(scope: Scope, bucket: str) -> Callable[..., Principal]:
    """A dependency: authenticate, check ``scope``, count against the ``bucket`` limit."""

    def dependency(
        request: Request,
        service: Service,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = service.tenancy.authenticate(request.headers.get("authorization"))
        settings = service.settings
        limit = settings.ingest_rate_limit if bucket == "ingest" else settings.read_rate_limit
        request.state.rate = service.limiter.check(bucket, principal.token.id, limit)
        if not principal.allows(scope):
            raise Forbidden(f"This token lacks the '{scope.value}' scope")
        return principal

    return dependency


Writer = Annotated[Principal, Depends(caller_with(Scope.EVENTS_WRITE, "ingest"))]
Reader = Annotated[Principal, Depends(caller_with(Scope.AUDIT_LOG_LIST, "read"))]
TokenManager = Annotated[Principal, Depends(caller_with(Scope.TOKENS_MANAGE, "read"))]
Exporter = Annotated[Principal, Depends(caller_with(Scope.AUDIT_LOG_EXPORT, "read"))]
StreamManager = Annotated[Principal, Depends(caller_with(Scope.STREAMS_MANAGE, "read"))]


def base_url(request: Request) -> str:
    """Where this deployment is reached: ``public_url`` if set, else as requested."""
    service: Trailkeeper = request.app.state.trailkeeper
    return (service.settings.public_url or str(request.base_url)).rstrip("/")


_KNOWN_PARAMS = frozenset(
    (*FILTER_NAMES, "q", "start", "end", "order", "limit", "cursor", "format")
)
Values = Annotated[list[str] | None, Query()]


def _filters(
    request: Request,
    actor: Annotated[list[str] | None, Query(description="Actor id or exact email")] = None,
    action: Annotated[list[str] | None, Query(description="Exact, or a prefix as card.*")] = None,
    category: Values = None,
    source: Values = None,
    resource_type: Values = None,
    resource_id: Values = None,
    run_id: Values = None,
    ip: Values = None,
    q: Annotated[str | None, Query(description="Substring of actor name or email")] = None,
    start: Annotated[str | None, Query(description="RFC 3339, or YYYY-MM-DD (whole day)")] = None,
    end: Annotated[str | None, Query(description="RFC 3339, or YYYY-MM-DD (inclusive)")] = None,
    order: Annotated[str, Query(description="desc (newest first) or asc")] = "desc",
) -> EventQuery:
    """Parsed from the raw query string, so repeated scalar params are caught too."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key not in _KNOWN_PARAMS:
            known = ", ".join(sorted(_KNOWN_PARAMS))
            raise InvalidRequest(f"Unknown query parameter {key[:64]!r}; known: {known}")
        params.setdefault(key, []).append(value)
    return EventQuery.from_params(params)


Filters = Annotated[EventQuery, Depends(_filters)]
