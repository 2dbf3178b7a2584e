"""The web UI as an ASGI app of its own, mounted by the API's app at ``/``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

from trailkeeper.api.errors import envelope
from trailkeeper.errors import TrailkeeperError
from trailkeeper.service import Trailkeeper
from trailkeeper.ui import (
    routes_auth,
    routes_feed,
    routes_pages,
    routes_retention,
    routes_streams,
)
from trailkeeper.ui.auth import SignInRequired, signin_redirect
from trailkeeper.ui.rendering import is_fragment, render
from trailkeeper.ui.security import SecurityHeaders

__all__ = ["UiMount", "create_ui", "ui_mount"]


async def _error(request: Request, exc: Exception) -> Response:
    """Errors as a page (or a fragment the script shows in place), never a blank."""
    assert isinstance(exc, TrailkeeperError)
    template = "_error.html" if is_fragment(request) else "error.html"
    return render(request, template, exc.status, error=exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if "text/html" not in request.headers.get("accept", ""):  # an API client: its envelope
        code = "not_found" if exc.status_code == 404 else "method_not_allowed"
        return envelope(exc.status_code, code, f"No route {request.method} {request.url.path}")
    message = "No such page" if exc.status_code == 404 else str(exc.detail)
    return render(request, "error.html", exc.status_code, error=message)


def create_ui(service: Trailkeeper) -> Starlette:
    static = StaticFiles(packages=[("trailkeeper.ui", "static")])
    app = Starlette(
        routes=[
            *routes_auth.routes,
            *routes_feed.routes,
            *routes_pages.routes,
            *routes_streams.routes,
            *routes_retention.routes,
            Mount("/static", static, name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={
            SignInRequired: signin_redirect,
            TrailkeeperError: _error,
            HTTPException: _http_error,
        },
    )
    app.state.trailkeeper = service
    return app


class UiMount(Mount):
    """The UI at ``/``, declining every path under the API's own first segments (``v1``,
    ``graphql``, ``docs``…), so that those keep the API's 404 and 405 envelopes."""

    def __init__(self, app: ASGIApp, reserved: frozenset[str]) -> None:
        super().__init__("", app=app)
        self.reserved = reserved

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            first = str(scope["path"]).lstrip("/").split("/", 1)[0]
            if first in self.reserved:
                return Match.NONE, {}
        return super().matches(scope)


def ui_mount(service: Trailkeeper, api_routes: Iterable[BaseRoute]) -> UiMount:
    """The UI, to be added after every API route."""
    reserved = set()
    for route in api_routes:
        path: Any = getattr(route, "path", "")
        first = str(path).lstrip("/").split("/", 1)[0]
        if first:
            reserved.add(first)
    return UiMount(create_ui(service), frozenset(reserved))
