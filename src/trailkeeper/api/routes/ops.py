"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from trailkeeper.api.deps import Service
from trailkeeper.api.errors import envelope
from trailkeeper.api.responses import JSON

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> JSON:
    return JSON({"status": "ok"})


@router.get("/readyz", summary="The database is reachable")
async def readyz(service: Service) -> JSON:
    try:
        await run_in_threadpool(service.store.ping)
    except Exception as exc:  # any failure to reach the database means not ready
        return envelope(503, "unavailable", f"The database is not reachable: {exc}")
    return JSON({"status": "ready", "database": service.store.backend})


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
