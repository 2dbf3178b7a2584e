"""Request dependencies as ``Annotated`` aliases: the service, the caller, the query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trailkeeper.api.openapi import FILTER_VALUE, IP_VALUE, Q_VALUE, TIME_BOUND
from trailkeeper.auth.tokens import Principal, Scope
from trailkeeper.errors import Forbidden
from trailkeeper.events.query import MAX_VALUES, EventQuery
from trailkeeper.service import Trailkeeper

__all__ = [
    "Administrator",
    "Bearer",
    "Exporter",
    "Filters",
    "Reader",
    "RetentionManager",
    "Service",
    "StreamManager",
    "TokenManager",
    "Writer",
    "admit_caller",
    "base_url",
    "caller_with",
]


def _service(request: Request) -> Trailkeeper:
    service: Trailkeeper = request.app.state.trailkeeper
    return service


Service = Annotated[Trailkeeper, Depends(_service)]
# Declared so that /docs offers "Authorize"; the header is checked by the service.
_bearer = HTTPBearer(auto_error=False, description="An API token: tk_…")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def admit_caller(service: Trailkeeper, request: Request, scope: Scope, bucket: str) -> Principal:
    """Authenticate, count against the ``bucket`` limit, check ``scope`` (blocking: the
    token lookup and the counter are database calls, so it runs in a worker thread)."""
    principal = service.tenancy.authenticate(request.headers.get("authorization"))
    settings = service.settings
    limit = settings.ingest_rate_limit if bucket == "ingest" else settings.read_rate_limit
    request.state.rate = service.limiter.check(bucket, principal.token.id, limit)
    if not principal.allows(scope):
        raise Forbidden(f"This token lacks the '{scope.value}' scope")
    return principal


def caller_with(scope: Scope, bucket: str) -> Callable[..., Principal]:
    """A dependency: :func:`admit_caller` for ``scope`` and ``bucket``."""

    def dependency(request: Request, service: Service, _: Bearer) -> Principal:
        return admit_caller(service, request, scope, bucket)

    return dependency


Writer = Annotated[Principal, Depends(caller_with(Scope.EVENTS_WRITE, "ingest"))]
Reader = Annotated[Principal, Depends(caller_with(Scope.AUDIT_LOG_LIST, "read"))]
TokenManager = Annotated[Principal, Depends(caller_with(Scope.TOKENS_MANAGE, "read"))]
Exporter = Annotated[Principal, Depends(caller_with(Scope.AUDIT_LOG_EXPORT, "read"))]
Administrator = Annotated[Principal, Depends(caller_with(Scope.ADMIN, "read"))]
StreamManager = Annotated[Principal, Depends(caller_with(Scope.STREAMS_MANAGE, "read"))]
RetentionManager = Annotated[Principal, Depends(caller_with(Scope.RETENTION_MANAGE, "read"))]


def base_url(request: Request) -> str:
    """Where this deployment is reached: ``public_url`` if set, else as requested."""
    service: Trailkeeper = request.app.state.trailkeeper
    return (service.settings.public_url or str(request.base_url)).rstrip("/")


def _values(description: str, item: dict[str, Any] = FILTER_VALUE) -> Any:
    """A repeatable filter; its rules (checked in ``EventQuery``) stated for OpenAPI."""
    return Query(description=description, json_schema_extra={"items": item, "maxItems": MAX_VALUES})


Values = list[str] | None


def _filters(
    request: Request,
    actor: Annotated[Values, _values("Actor id or exact email")] = None,
    action: Annotated[Values, _values("Exact, or a prefix as card.*")] = None,
    category: Annotated[Values, _values("Exact category")] = None,
    source: Annotated[Values, _values("Exact source")] = None,
    resource_type: Annotated[Values, _values("Exact resource type")] = None,
    resource_id: Annotated[Values, _values("Exact resource id")] = None,
    run_id: Annotated[Values, _values("Exact run.id")] = None,
    ip: Annotated[Values, _values("An IP address, compared normalized", IP_VALUE)] = None,
    q: Annotated[
        str | None,
        Query(
            description="Case-insensitive substring of actor name or email",
            json_schema_extra=Q_VALUE,
        ),
    ] = None,
    start: Annotated[
        str | None,
        Query(description="RFC 3339, or YYYY-MM-DD (whole day)", json_schema_extra=TIME_BOUND),
    ] = None,
    end: Annotated[
        str | None,
        Query(description="RFC 3339, or YYYY-MM-DD (inclusive)", json_schema_extra=TIME_BOUND),
    ] = None,
    order: Annotated[
        str,
        Query(
            description="desc (newest first) or asc; any case",
            json_schema_extra={"enum": ["desc", "asc"]},
        ),
    ] = "desc",
) -> EventQuery:
    """Parsed from the raw query string (unknown and repeated names are refused
    app-wide by ``queryrules.strict_query``)."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return EventQuery.from_params(params)


Filters = Annotated[EventQuery, Depends(_filters)]
