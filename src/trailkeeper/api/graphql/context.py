"""The per-request context: who is calling, authenticated and rate-limited once per
HTTP request (not per field), and how many events the request may still read."""

from __future__ import annotations

from starlette.requests import Request
from strawberry.fastapi import BaseContext

from trailkeeper.api.deps import base_url
from trailkeeper.auth.tokens import Principal, Scope
from trailkeeper.errors import Forbidden, InvalidRequest, TrailkeeperError
from trailkeeper.service import Trailkeeper
from trailkeeper.service.reading import MAX_LIMIT

__all__ = ["EVENTS_PER_REQUEST", "Context", "get_context"]

# Aliases could ask for many pages in one request; together they read at most this.
EVENTS_PER_REQUEST = MAX_LIMIT


class Context(BaseContext):
    """Either a caller (``principal``) or the reason there is none (``failure``)."""

    def __init__(
        self,
        service: Trailkeeper,
        principal: Principal | None,
        base_url: str,
        ip: str | None,
        failure: TrailkeeperError | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self._principal = principal
        self.base_url = base_url
        self.ip = ip
        self.failure = failure
        self._events_left = EVENTS_PER_REQUEST

    def require(self, scope: Scope, message: str | None = None) -> Principal:
        """The caller, if its token has ``scope``; else ``Forbidden`` with ``message``."""
        principal = self._principal
        if principal is None:  # the router answers before any field runs
            raise self.failure or Forbidden("Not authenticated")
        if not principal.allows(scope):
            raise Forbidden(message or f"This token lacks the '{scope.value}' scope")
        return principal

    def reserve_events(self, count: int) -> None:
        """Count a page of ``count`` events against this request's budget."""
        if count > self._events_left:
            raise InvalidRequest(
                f"One GraphQL request reads at most {EVENTS_PER_REQUEST} events across all "
                f"auditLogs fields; lower 'first' or send the pages as separate requests"
            )
        self._events_left -= count


def get_context(request: Request) -> Context:
    """Authenticate and count one "read" request. A failure is kept, not raised, so
    that the router answers it with both the REST envelope and a GraphQL ``errors``."""
    service: Trailkeeper = request.app.state.trailkeeper
    ip = request.client.host if request.client else None
    url = base_url(request)
    try:
        principal = service.tenancy.authenticate(request.headers.get("authorization"))
        limit = service.settings.read_rate_limit
        request.state.rate = service.limiter.check("read", principal.token.id, limit)
    except TrailkeeperError as exc:
        return Context(service, None, url, ip, failure=exc)
    return Context(service, principal, url, ip)
