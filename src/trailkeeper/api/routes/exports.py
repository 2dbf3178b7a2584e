"""``/v1/exports``: request files of the log for long-term retention."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from trailkeeper.api.bodies import json_body
from trailkeeper.api.deps import Exporter, Service, base_url
from trailkeeper.api.responses import JSON

__all__ = ["router"]

router = APIRouter(prefix="/v1/exports", tags=["exports"])

_EXAMPLE = {
    "format": "jsonl",
    "start": "2026-10-01",
    "end": "2026-10-30",
    "resource": {"type": "pipe", "id": "87654321"},
    "filters": {"actor": ["u_123"], "q": "ana"},
    "webhook_url": "https://hooks.example.com/audit",
    "compression": "none",
}


@router.post(
    "",
    status_code=202,
    summary="Request an export file (JSONL, CSV or Parquet) of up to 30 days",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"example": _EXAMPLE}},
        }
    },
)
async def request_export(request: Request, principal: Exporter, service: Service) -> JSON:
    body: Any = await json_body(request)
    ip = request.client.host if request.client else None
    view = await run_in_threadpool(
        service.exports.request, principal, body, base_url(request), ip=ip
    )
    return JSON(view, status_code=202)


@router.get("", summary="List exports, newest first")
def list_exports(
    request: Request,
    principal: Exporter,
    service: Service,
    limit: Annotated[int, Query(description="1 to 100")] = 20,
    before: Annotated[str | None, Query(description="Continue after this export id")] = None,
) -> JSON:
    data = service.exports.list(principal.tenant, limit, before, base_url(request))
    next_before = data[-1]["id"] if len(data) == limit else None
    return JSON({"data": data, "next_before": next_before})


@router.get("/{export_id}", summary="One export, with its download URL once it succeeded")
def get_export(
    request: Request,
    principal: Exporter,
    service: Service,
    export_id: Annotated[str, Path(max_length=64)],
) -> JSON:
    return JSON(service.exports.get(principal.tenant, export_id, base_url(request)))
