"""``/v1/retention`` and ``/v1/erasures`` (scope ``retention:manage``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from trailkeeper.api.bodies import json_body
from trailkeeper.api.deps import RetentionManager, Service
from trailkeeper.api.openapi import errors
from trailkeeper.api.responses import JSON
from trailkeeper.retention import MAX_DAYS

__all__ = ["router"]

router = APIRouter(tags=["retention"])


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Removed(_Out):
    events: int
    first_seq: int
    last_seq: int


class RetentionPolicy(_Out):
    days: int | None = Field(description="Days events are kept; null: forever")
    archive: bool
    legal_hold: bool
    inherited: bool = Field(description="The deployment's default applies")
    min_days: int
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_error: str | None
    archived_through_seq: int | None
    removed: Removed | None


class Erasure(_Out):
    id: str
    actor_id: str
    status: Literal["queued", "running", "succeeded"]
    requested_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    events_total: int
    events_erased: int


_POLICY_BODY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "days": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_DAYS},
        "archive": {"type": "boolean"},
        "legal_hold": {"type": "boolean"},
    },
}
_ERASURE_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["actor_id"],
    "properties": {"actor_id": {"type": "string", "minLength": 1, "maxLength": 256}},
}


def _body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    content = {"application/json": {"schema": schema, "example": example}}
    return {"requestBody": {"required": True, "content": content}}


@router.get(
    "/v1/retention",
    summary="The tenant's retention policy and its last run",
    response_model=RetentionPolicy,
)
def get_retention(principal: RetentionManager, service: Service) -> JSON:
    """The policy (`days`, `archive`, `legal_hold`) and how retention stands: the last
    run, its error, what was archived and removed. Scope `retention:manage`."""
    return JSON(service.retention.view(principal.tenant))


@router.put(
    "/v1/retention",
    summary="Change the retention policy (fields left out keep their value)",
    response_model=RetentionPolicy,
    openapi_extra=_body(_POLICY_BODY, {"days": 180, "archive": True, "legal_hold": False}),
)
async def put_retention(request: Request, principal: RetentionManager, service: Service) -> JSON:
    """`days` at least the deployment's minimum, at most 36,500, or null (forever).
    Recorded as `trailkeeper.retention.updated`. Scope `retention:manage`."""
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
    response_model=Erasure,
    responses=errors(404),
    openapi_extra=_body(_ERASURE_BODY, {"actor_id": "u_123"}),
)
async def request_erasure(request: Request, principal: RetentionManager, service: Service) -> JSON:
    """Name, email, IP and user agent (and their salt) leave every event of the actor;
    `pii`, `seq` and `leaf_hash` stay. `404` for an actor the tenant never saw. A second
    request while one runs returns the same job. Scope `retention:manage`."""
    body = await json_body(request)
    view = await run_in_threadpool(service.erasures.request_by, principal, body)
    return JSON(view, status_code=202)


@router.get(
    "/v1/erasures/{erasure_id}",
    summary="One erasure, with its counts",
    response_model=Erasure,
    responses=errors(404),
)
def get_erasure(
    principal: RetentionManager,
    service: Service,
    erasure_id: Annotated[str, Path(max_length=64)],
) -> JSON:
    """Its status and how many events were erased. Scope `retention:manage`."""
    return JSON(service.erasures.get(principal.tenant, erasure_id))
