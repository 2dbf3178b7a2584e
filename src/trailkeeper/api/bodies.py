"""Request bodies the handlers parse themselves (so that any JSON reaches the service,
which reports every problem in the contract's envelope)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from trailkeeper.errors import InvalidRequest

__all__ = ["json_body"]


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc.msg} at byte {exc.pos}") from None
