"""Typed errors. Each knows its HTTP status and contract error code, so the
API maps them to the error envelope in exactly one place (``api/errors.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidCursor",
    "InvalidEvent",
    "InvalidRequest",
    "InvalidWindow",
    "NotFound",
    "PayloadTooLarge",
    "QuotaExceeded",
    "RateLimited",
    "TrailkeeperError",
    "Unauthenticated",
]


class TrailkeeperError(Exception):
    """Base of every error a client can cause; never becomes a 500."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid_request"

    def __init__(
        self,
        message: str,
        details: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = [dict(d) for d in details]
        self.headers = dict(headers or {})

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidRequest(TrailkeeperError):
    status, code = 400, "invalid_request"


class InvalidEvent(TrailkeeperError):
    status, code = 400, "invalid_event"


class InvalidCursor(TrailkeeperError):
    status, code = 400, "invalid_cursor"


class InvalidWindow(TrailkeeperError):
    status, code = 400, "invalid_window"


class Unauthenticated(TrailkeeperError):
    status, code = 401, "unauthenticated"


class Forbidden(TrailkeeperError):
    status, code = 403, "forbidden"


class NotFound(TrailkeeperError):
    status, code = 404, "not_found"


class Conflict(TrailkeeperError):
    status, code = 409, "conflict"


class PayloadTooLarge(TrailkeeperError):
    status, code = 413, "payload_too_large"


class RateLimited(TrailkeeperError):
    status, code = 429, "rate_limited"


class QuotaExceeded(TrailkeeperError):
    status, code = 429, "quota_exceeded"
