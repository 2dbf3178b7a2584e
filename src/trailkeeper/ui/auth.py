"""Who is signed in: the session cookie, CSRF checks, and the way to sign-in."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from trailkeeper.errors import Forbidden
from trailkeeper.service import Trailkeeper
from trailkeeper.service.sessions import UiSession
from trailkeeper.ui.rendering import is_fragment

__all__ = [
    "COOKIE",
    "SignInRequired",
    "check_csrf",
    "client_ip",
    "current",
    "is_https",
    "service_of",
    "signin_redirect",
]

COOKIE = "tk_session"
CSRF_FAILED = (
    "This form has expired or was not sent from this site's page; reload the page and try again"
)


class SignInRequired(Exception):
    """No live session: go to sign-in, then come back to ``return_to``."""

    def __init__(self, return_to: str, *, ended: bool) -> None:
        super().__init__(return_to)
        self.return_to = return_to
        self.ended = ended


def service_of(request: Request) -> Trailkeeper:
    service: Trailkeeper = request.app.state.trailkeeper
    return service


def is_https(request: Request) -> bool:
    public = service_of(request).settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def current(request: Request) -> UiSession:
    """The request's live session (also kept on ``request.state`` for templates)."""
    cookie = request.cookies.get(COOKIE)
    session = await run_in_threadpool(service_of(request).sessions.resolve, cookie)
    if session is None:
        target = request.url.path if request.method == "GET" else "/"
        if request.method == "GET" and request.url.query and not is_fragment(request):
            target += "?" + request.url.query
        raise SignInRequired(target, ended=cookie is not None)
    request.state.ui_session = session
    return session


def check_csrf(request: Request, form: FormData, binding: str | None) -> None:
    """Every state-changing form carries the CSRF token of its session (or sign-in
    nonce); a request from another origin is refused as well."""
    origin = request.headers.get("origin")
    public = (service_of(request).settings.public_url or "").rstrip("/")
    allowed = {f"{request.url.scheme}://{request.url.netloc}", "/".join(public.split("/")[:3])}
    if origin is not None and origin not in allowed:
        raise Forbidden(CSRF_FAILED)
    sent = form.get("csrf")
    if not service_of(request).sessions.csrf_ok(binding, sent if isinstance(sent, str) else None):
        raise Forbidden(CSRF_FAILED)


def signin_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    params = {"next": exc.return_to}
    if exc.ended:
        params["ended"] = "1"
    location = "/signin?" + urlencode(params)
    if is_fragment(request):
        # the page's script follows this header (a redirect would be fetched, not shown)
        return Response(status_code=401, headers={"X-TK-Signin": location})
    response = RedirectResponse(location, status_code=303)
    if exc.ended:
        response.delete_cookie(COOKIE, path="/")
    return response
