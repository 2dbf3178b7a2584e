"""``/v1/retention`` and ``/v1/erasures`` (scope ``retention:manage``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool

from trailkeeper.api.bodies import json_body
from trailkeeper.api.deps import RetentionManager, Service
from trailkeeper.api.responses import JSON

__all__ = ["router"]

router = APIRouter(tags=["retention"])


def _body(example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {"required": True, "content": {"application/json": {"example": example}}}
    }


@router.get("/v1/retention", summary="The tenant's retention policy and its last run")
def get_retention(principal: RetentionManager, service: Service) -> JSON:
    return JSON(service.retention.view(principal.tenant))


@router.put(
    "/v1/retention",
    summary="Change the retention policy (fields left out keep their value)",
    openapi_extra=_body({"days": 180, "archive": True, "legal_hold": False}),
)
async def put_retention(request: Request, principal: RetentionManager, service: Service) -> JSON:
    body = await json_body(request)
    ip = request.client.host if request.client else None
    view = await run_in_threadpool(
        service.retention.update, principal.tenant, body, principal.actor, ip=ip
    )
    return JSON(view)


@router.post(
    "/v1/erasures",
    status_code=202,
    summary="Erase an actor's personal data from every event (a job)",
    openapi_extra=_body({"actor_id": "u_123"}),
)
async def request_erasure(request: Request, principal: RetentionManager, service: Service) -> JSON:
    body = await json_body(request)
    view = await run_in_threadpool(service.erasures.request_by, principal, body)
    return JSON(view, status_code=202)


@router.get("/v1/erasures/{erasure_id}", summary="One erasure, with its counts")
def get_erasure(
    principal: RetentionManager,
    service: Service,
    erasure_id: Annotated[str, Path(max_length=64)],
) -> JSON:
    return JSON(service.erasures.get(principal.tenant, erasure_id))
