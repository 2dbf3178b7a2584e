"""Sign-in with a token, sign-out."""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from trailkeeper.errors import Forbidden, Unauthenticated
from trailkeeper.ui.auth import (
    COOKIE,
    check_csrf,
    client_ip,
    current,
    is_https,
    service_of,
)
from trailkeeper.ui.rendering import render
from trailkeeper.ui.security import safe_return_path

__all__ = ["routes"]

NONCE_COOKIE = "tk_signin"
WRONG_TOKEN = "This token is not valid or has been revoked."  # noqa: S105 (a message)


def _form(request: Request, status: int = 200, error: str | None = None) -> Response:
    nonce = request.cookies.get(NONCE_COOKIE) or secrets.token_urlsafe(24)
    sessions = service_of(request).sessions
    response = render(
        request,
        "signin.html",
        status,
        session=None,
        error=error,
        csrf=sessions.csrf_for("signin:" + nonce),
        next=safe_return_path(request.query_params.get("next")),
        ended=request.query_params.get("ended") == "1",
    )
    response.set_cookie(
        NONCE_COOKIE, nonce, httponly=True, samesite="lax", secure=is_https(request), path="/"
    )
    return response


async def signin_page(request: Request) -> Response:
    return _form(request)


async def signin(request: Request) -> Response:
    form = await request.form()
    nonce = request.cookies.get(NONCE_COOKIE)
    check_csrf(request, form, None if nonce is None else "signin:" + nonce)
    token = form.get("token")
    service = service_of(request)
    try:
        if not isinstance(token, str) or not token.strip():
            raise Unauthenticated("Paste an API token (tk_…) to sign in.")
        session = await run_in_threadpool(service.sessions.sign_in, token, client_ip(request))
    except (Unauthenticated, Forbidden) as exc:
        message = exc.message if isinstance(exc, Forbidden) else WRONG_TOKEN
        if isinstance(token, str) and not token.strip():
            message = exc.message
        return _form(request, exc.status, message)
    target = safe_return_path(str(form.get("next") or "/"))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=int(service.sessions.ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )
    response.delete_cookie(NONCE_COOKIE, path="/")
    return response


async def signout(request: Request) -> Response:
    session = await current(request)
    check_csrf(request, await request.form(), session.id)
    await run_in_threadpool(service_of(request).sessions.sign_out, session.id)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


routes = [
    Route("/signin", signin_page, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
]
