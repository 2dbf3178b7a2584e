"""The web UI as an ASGI app of its own, mounted by the API's app at ``/``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from trailkeeper.api.errors import envelope
from trailkeeper.errors import TrailkeeperError
from trailkeeper.service import Trailkeeper
from trailkeeper.ui import routes_auth, routes_feed, routes_pages
from trailkeeper.ui.auth import SignInRequired, signin_redirect
from trailkeeper.ui.rendering import is_fragment, render
from trailkeeper.ui.security import SecurityHeaders

__all__ = ["create_ui"]

_API_PREFIXES = ("/v1/", "/graphql", "/openapi.json", "/docs")


async def _error(request: Request, exc: Exception) -> Response:
    """Errors as a page (or a fragment the script shows in place), never a blank."""
    assert isinstance(exc, TrailkeeperError)
    template = "_error.html" if is_fragment(request) else "error.html"
    return render(request, template, exc.status, error=exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(_API_PREFIXES):  # the API's unknown paths keep its envelope
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
