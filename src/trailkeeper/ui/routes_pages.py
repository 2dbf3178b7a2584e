"""Run timelines, the exports page and the integrity page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from trailkeeper.api.deps import base_url
from trailkeeper.auth.tokens import Scope
from trailkeeper.errors import Forbidden, NotFound, TrailkeeperError
from trailkeeper.service.integrity import checkpoint_view
from trailkeeper.ui.auth import check_csrf, client_ip, current, service_of
from trailkeeper.ui.rendering import render
from trailkeeper.ui.verifying import last_verification, verify_now

__all__ = ["routes"]

_FORM_FIELDS = ("format", "compression", "start", "end", "resource_type", "resource_id", "q")


async def run(request: Request) -> Response:
    session = await current(request)
    run_id = request.path_params["run_id"]
    events, truncated = await run_in_threadpool(
        service_of(request).reads.run, session.principal.tenant, run_id
    )
    return render(request, "run.html", run_id=run_id, events=events, truncated=truncated)


def _window_rules(request: Request) -> dict[str, Any]:
    service = service_of(request)
    today = datetime.now(UTC).date()
    rules = service.exports.rules
    return {
        "max_days": rules.max_days,
        "history_days": rules.history_days,
        "earliest": (today - timedelta(days=rules.history_days)).isoformat(),
        "latest": (today - timedelta(days=1)).isoformat(),
        "default_start": (today - timedelta(days=rules.max_days)).isoformat(),
        "quota": service.settings.export_daily_quota,
    }


def _export_body(form: FormData | dict[str, str]) -> dict[str, Any]:
    """The ``POST /v1/exports`` body the form describes."""
    text = {k: str(form.get(k) or "").strip() for k in _FORM_FIELDS}
    body: dict[str, Any] = {"format": text["format"] or "csv"}
    body["compression"] = text["compression"] or "none"
    for bound in ("start", "end"):
        if text[bound]:
            body[bound] = text[bound]
    if text["resource_type"] or text["resource_id"]:
        body["resource"] = {"type": text["resource_type"], "id": text["resource_id"]}
    if text["q"]:
        body["filters"] = {"q": text["q"]}
    return body


async def _exports_page(
    request: Request,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    session = await current(request)
    if not session.allows(Scope.AUDIT_LOG_EXPORT):
        raise Forbidden("This token lacks the 'audit-log:export' scope")
    exports = await run_in_threadpool(
        service_of(request).exports.list, session.principal.tenant, 20, None, base_url(request)
    )
    if form is None:
        form = {k: request.query_params.get(k, "") for k in _FORM_FIELDS}
    return render(
        request,
        "exports.html",
        status,
        error=error,
        exports=exports,
        rules=_window_rules(request),
        form=form,
        pending=any(e["status"] in ("queued", "running") for e in exports),
    )


async def exports_page(request: Request) -> Response:
    return await _exports_page(request)


async def request_export(request: Request) -> Response:
    session = await current(request)
    form = await request.form()
    check_csrf(request, form, session.id)
    if not session.allows(Scope.AUDIT_LOG_EXPORT):
        raise Forbidden("This token lacks the 'audit-log:export' scope")
    service = service_of(request)
    try:
        await run_in_threadpool(
            service.exports.request,
            session.principal,
            _export_body(form),
            base_url(request),
            ip=client_ip(request),
        )
    except TrailkeeperError as exc:
        kept = {k: str(form.get(k) or "") for k in _FORM_FIELDS}
        return await _exports_page(request, exc.status, exc.message, kept)
    return RedirectResponse("/exports", status_code=303)


async def integrity_page(request: Request) -> Response:
    session = await current(request)
    service = service_of(request)
    tenant_id = session.principal.tenant.id
    try:
        latest = await run_in_threadpool(service.integrity.latest, tenant_id)
        checkpoint = checkpoint_view(latest)
    except NotFound:
        checkpoint = None
    last = await run_in_threadpool(last_verification, service, session.principal)
    return render(
        request,
        "integrity.html",
        checkpoint=checkpoint,
        verifier_key=service.integrity.verifier_key,
        last=last,
    )


async def verify(request: Request) -> Response:
    session = await current(request)
    check_csrf(request, await request.form(), session.id)
    await run_in_threadpool(verify_now, service_of(request), session.principal, client_ip(request))
    return RedirectResponse("/integrity#last-verification", status_code=303)


routes = [
    Route("/runs/{run_id:path}", run, methods=["GET"]),
    Route("/exports", exports_page, methods=["GET"]),
    Route("/exports", request_export, methods=["POST"]),
    Route("/integrity", integrity_page, methods=["GET"]),
    Route("/integrity/verify", verify, methods=["POST"]),
]
