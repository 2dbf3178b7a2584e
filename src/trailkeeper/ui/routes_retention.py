"""The retention page: the tenant's policy (period, archive, legal hold) and how its runs
stand, and a GDPR erasure request, through the same use cases as ``/v1/retention`` and
``/v1/erasures`` (scope ``retention:manage``, as there)."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from trailkeeper.auth.tokens import Scope
from trailkeeper.errors import Forbidden, InvalidRequest, TrailkeeperError
from trailkeeper.service.sessions import UiSession
from trailkeeper.ui.auth import check_csrf, client_ip, current, service_of
from trailkeeper.ui.rendering import render
from trailkeeper.ui.views import quote_path

__all__ = ["routes"]

_NEEDS = "This token lacks the 'retention:manage' scope"
_WHOLE_NUMBER = re.compile(r"\s*\d{1,12}\s*")


async def _session(request: Request, form: FormData | None = None) -> UiSession:
    """The signed-in session allowed to manage retention (a form's CSRF token checked)."""
    session = await current(request)
    if form is not None:
        check_csrf(request, form, session.id)
    if not session.allows(Scope.RETENTION_MANAGE):
        raise Forbidden(_NEEDS)
    return session


def policy_body(form: FormData) -> dict[str, Any]:
    """The ``PUT /v1/retention`` body a policy form stands for: an empty period is
    "forever" (null); anything but a whole number goes to the policy's own validation,
    so the page shows the API's message. Unticked boxes are false."""
    days: Any = str(form.get("days") or "")
    if not days.strip():
        days = None
    elif _WHOLE_NUMBER.fullmatch(days):
        days = int(days)
    return {"days": days, "archive": "archive" in form, "legal_hold": "legal_hold" in form}


async def _page(
    request: Request,
    status: int = 200,
    error: str | None = None,
    *,
    days: str | None = None,
    erasure_error: str | None = None,
    actor_id: str = "",
) -> Response:
    """The page; after a refused form, with its message and what was typed."""
    session = request.state.ui_session
    view = await run_in_threadpool(service_of(request).retention.view, session.principal.tenant)
    if days is None:
        days = "" if view["days"] is None else str(view["days"])
    return render(
        request,
        "retention.html",
        status,
        error=error,
        policy=view,
        saved=status == 200 and request.query_params.get("saved") == "1",
        days=days,
        erasure_error=erasure_error,
        actor_id=actor_id,
    )


async def retention_page(request: Request) -> Response:
    await _session(request)
    return await _page(request)


async def update_policy(request: Request) -> Response:
    form = await request.form()
    session = await _session(request, form)
    try:
        await run_in_threadpool(
            lambda: service_of(request).retention.update(
                session.principal.tenant,
                policy_body(form),
                session.principal.actor,
                source="web",
                ip=client_ip(request),
            )
        )
    except TrailkeeperError as exc:
        return await _page(request, exc.status, exc.message, days=str(form.get("days") or ""))
    return RedirectResponse("/retention?saved=1", status_code=303)


async def request_erasure(request: Request) -> Response:
    """Queue an erasure; the form must confirm that it cannot be undone."""
    form = await request.form()
    session = await _session(request, form)
    actor_id = str(form.get("actor_id") or "")
    try:
        if "confirm" not in form:
            raise InvalidRequest("Tick the box to confirm: an erasure cannot be undone")
        job = await run_in_threadpool(
            service_of(request).erasures.request_by, session.principal, {"actor_id": actor_id}
        )
    except TrailkeeperError as exc:
        return await _page(request, exc.status, erasure_error=exc.message, actor_id=actor_id)
    return RedirectResponse(f"/retention/erasures/{quote_path(job['id'])}", status_code=303)


async def erasure_page(request: Request) -> Response:
    session = await _session(request)
    job = await run_in_threadpool(
        service_of(request).erasures.get,
        session.principal.tenant,
        request.path_params["erasure_id"],
    )
    return render(request, "erasure.html", job=job)


routes = [
    Route("/retention", retention_page, methods=["GET"]),
    Route("/retention", update_policy, methods=["POST"]),
    Route("/retention/erasures", request_erasure, methods=["POST"]),
    Route("/retention/erasures/{erasure_id}", erasure_page, methods=["GET"]),
]
