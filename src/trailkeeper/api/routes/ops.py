"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from trailkeeper.api.deps import Service
from trailkeeper.api.errors import envelope
from trailkeeper.api.openapi import errors
from trailkeeper.api.responses import JSON
from trailkeeper.api.schemas import Health, Readiness

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive", response_model=Health)
async def healthz() -> JSON:
    """Answers without touching the database."""
    return JSON({"status": "ok"})


@router.get(
    "/readyz", summary="The database is reachable", response_model=Readiness, responses=errors(503)
)
async def readyz(service: Service) -> JSON:
    """503 with the error envelope while the database does not answer."""
    try:
        await run_in_threadpool(service.store.ping)
    except Exception as exc:  # any failure to reach the database means not ready
        return envelope(503, "unavailable", f"The database is not reachable: {exc}")
    return JSON({"status": "ready", "database": service.store.backend})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format",
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(request: Request) -> Response:
    """Request latency by method, route template and status, and events ingested. Labels
    take only known methods and route templates, so the output stays small."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
