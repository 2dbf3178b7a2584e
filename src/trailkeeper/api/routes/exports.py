"""``/v1/exports``: request files of the log for long-term retention."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from trailkeeper.api.bodies import json_body
from trailkeeper.api.deps import Exporter, Service, base_url
from trailkeeper.api.openapi import errors
from trailkeeper.api.responses import JSON
from trailkeeper.api.schemas import Export, ExportPage

__all__ = ["router"]

router = APIRouter(prefix="/v1/exports", tags=["exports"])

_EXAMPLE = {
    "format": "jsonl",
    "resource": {"type": "pipe", "id": "87654321"},
    "filters": {"actor": ["u_123"], "q": "ana"},
    "compression": "none",
}


@router.post(
    "",
    status_code=202,
    summary="Request an export file (JSONL, CSV or Parquet) of up to 30 days",
    response_model=Export,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/ExportRequest"},
                    "example": _EXAMPLE,
                }
            },
        }
    },
)
async def request_export(request: Request, principal: Exporter, service: Service) -> JSON:
    """Whole UTC days, by default the last 30 complete ones; `start` at most 180 days back,
    `end` at most yesterday (else `400 invalid_window`). 6 requests per token per resource
    per UTC day (else `429 quota_exceeded`). `format` and `compression` take any case.
    The webhook is signed per Standard Webhooks. Scope `audit-log:export`."""
    body: Any = await json_body(request)
    ip = request.client.host if request.client else None
    view = await run_in_threadpool(
        service.exports.request, principal, body, base_url(request), ip=ip
    )
    return JSON(view, status_code=202)


@router.get("", summary="List exports, newest first", response_model=ExportPage)
def list_exports(
    request: Request,
    principal: Exporter,
    service: Service,
    limit: Annotated[
        int, Query(description="1 to 100", json_schema_extra={"minimum": 1, "maximum": 100})
    ] = 20,
    before: Annotated[
        str | None,
        Query(
            max_length=64, pattern="^exp_[^\\x00]*$", description="Continue after this export id"
        ),
    ] = None,
) -> JSON:
    """This tenant's exports, 20 a page by default. Scope `audit-log:export`."""
    data = service.exports.list(principal.tenant, limit, before, base_url(request))
    next_before = data[-1]["id"] if len(data) == limit else None
    return JSON({"data": data, "next_before": next_before})


@router.get(
    "/{export_id}",
    summary="One export, with its download URL once it succeeded",
    response_model=Export,
    responses=errors(404),
)
def get_export(
    request: Request,
    principal: Exporter,
    service: Service,
    export_id: Annotated[str, Path(max_length=64)],
) -> JSON:
    """Poll until `status` is `succeeded` or `failed`. Scope `audit-log:export`."""
    return JSON(service.exports.get(principal.tenant, export_id, base_url(request)))
