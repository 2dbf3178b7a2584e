"""``/v1/streams``: streams to SIEMs (scope ``streams:manage``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from trailkeeper.api.deps import Service, StreamManager
from trailkeeper.api.openapi import errors, filters_schema
from trailkeeper.api.responses import JSON
from trailkeeper.errors import InvalidRequest
from trailkeeper.streams.request_schema import stream_request_schema

__all__ = ["Stream", "StreamDeleted", "StreamList", "StreamTest", "router"]

router = APIRouter(prefix="/v1/streams", tags=["streams"])
StreamId = Annotated[str, Path(max_length=64, description="The stream's id (str_…)")]

_EXAMPLE = {
    "name": "Splunk production",
    "type": "splunk_hec",
    "format": "native",
    "filters": {"action": ["card.*"]},
    "config": {
        "url": "https://93.184.215.14:8088",
        "token": "00000000-0000-0000-0000-000000000000",
    },
    "start": "now",
}


class Stream(BaseModel):
    """A stream to a SIEM; its config without the secrets."""

    id: str
    name: str
    type: str
    format: str
    filters: dict[str, str | list[str]]
    config: dict[str, Any]
    status: Literal["active", "paused", "failing"]
    cursor_seq: int
    lag_events: int
    delivered: int
    last_delivery_at: str | None
    last_error: str | None
    created_at: str
    updated_at: str


class StreamList(BaseModel):
    data: list[Stream]


class StreamTest(BaseModel):
    delivered: bool
    error: str | None


class StreamDeleted(BaseModel):
    id: str
    deleted: bool


_SCHEMA = stream_request_schema()
for _variant in _SCHEMA["oneOf"]:
    _variant["properties"]["filters"] = {**filters_schema(), "description": "As in exports"}
_BODY = {"required": True, "content": {"application/json": {
    "schema": _SCHEMA, "example": _EXAMPLE,
}}}  # fmt: skip


@router.post(
    "",
    status_code=201,
    summary="Create a stream; its secrets are never shown again",
    response_model=Stream,
    openapi_extra={"requestBody": _BODY},
)
async def create_stream(request: Request, principal: StreamManager, service: Service) -> JSON:
    """Create a stream to a SIEM; delivery starts within seconds from ``start``. Each
    problem in the body is a 400 naming its field; a private destination is refused
    unless the deployment allows it."""
    body: Any = await _json_body(request)
    view = await run_in_threadpool(service.streams.create, principal.tenant, body, principal.actor)
    return JSON(view, status_code=201)


@router.get("", summary="List the tenant's streams", response_model=StreamList)
def list_streams(principal: StreamManager, service: Service) -> JSON:
    """Every stream of the tenant, oldest first, with its status and lag."""
    return JSON({"data": service.streams.list(principal.tenant)})


@router.get(
    "/{stream_id}",
    summary="One stream: status, cursor_seq, lag_events, last_error…",
    response_model=Stream,
    responses=errors(404),
)
def get_stream(principal: StreamManager, service: Service, stream_id: StreamId) -> JSON:
    """One stream: whether it is healthy (status, lag, last delivery, last error)."""
    return JSON(service.streams.get(principal.tenant, stream_id))


@router.post(
    "/{stream_id}/pause",
    summary="Stop delivering (the cursor stays)",
    response_model=Stream,
    responses=errors(404),
)
def pause_stream(principal: StreamManager, service: Service, stream_id: StreamId) -> JSON:
    """Pause delivery within one batch; the cursor stays where it is."""
    return JSON(service.streams.set_status(principal.tenant, stream_id, "paused", principal.actor))


@router.post(
    "/{stream_id}/resume",
    summary="Deliver again from the cursor (also after failing)",
    response_model=Stream,
    responses=errors(404),
)
def resume_stream(principal: StreamManager, service: Service, stream_id: StreamId) -> JSON:
    """Make a paused or failing stream active; a failing one is retried at once."""
    return JSON(service.streams.set_status(principal.tenant, stream_id, "active", principal.actor))


@router.post(
    "/{stream_id}/test",
    summary="Send one test event to the destination now",
    response_model=StreamTest,
    responses=errors(404),
)
def test_stream(principal: StreamManager, service: Service, stream_id: StreamId) -> JSON:
    """Send one made-up event (not stored in the log) and say whether it was accepted."""
    return JSON(service.streams.test(principal.tenant, stream_id, principal.actor))


@router.delete(
    "/{stream_id}",
    summary="Delete a stream (delivery stops within a batch)",
    response_model=StreamDeleted,
    responses=errors(404),
)
def delete_stream(principal: StreamManager, service: Service, stream_id: StreamId) -> JSON:
    """Delete the stream; its settings and sealed secrets are gone."""
    return JSON(service.streams.delete(principal.tenant, stream_id, principal.actor))


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc.msg} at byte {exc.pos}") from None
