"""Every error becomes the contract's envelope, here and nowhere else."""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException

from trailkeeper.api.responses import JSON
from trailkeeper.errors import TrailkeeperError
from trailkeeper.integrity import IntegrityError

__all__ = ["install_error_handlers"]

log = logging.getLogger("trailkeeper.api")
RETRY_AFTER_SECONDS = 5
_TRANSIENT_SQLITE = re.compile(r"locked|busy|disk I/O|unable to open", re.IGNORECASE)

# "{name}" or "{name:path}" in an escaped path template
_PARAM = re.compile(r"\\\{[a-z_]+(:path)?\\\}")
_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def envelope(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSON:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSON(body, status_code=status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header")]
    return ".".join(parts)


async def _trailkeeper_error(request: Request, exc: Exception) -> JSON:
    assert isinstance(exc, TrailkeeperError)
    return envelope(exc.status, exc.code, exc.message, exc.details, exc.headers)


def _message(error: Any) -> str:
    if error.get("loc") == ("body",) and error.get("type") in (
        "model_attributes_type",
        "dict_type",
    ):
        return "send a JSON object with Content-Type: application/json"
    return str(error.get("msg", ""))


async def _validation_error(request: Request, exc: Exception) -> JSON:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"field": _field(tuple(e.get("loc", ()))) or "body", "message": _message(e)}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:3])
    return envelope(400, "invalid_request", f"Invalid request parameters ({summary})", details)


def _allowed_methods(request: Request) -> str:
    """The documented methods of the path (Starlette names only the first route's)."""
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    methods: set[str] = set()
    for template, operations in paths.items():
        pattern = _PARAM.sub(lambda m: ".+" if m.group(1) else "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSON:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 404:
        message = f"No such endpoint: {request.method} {request.url.path}; see /docs"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs"
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    else:
        message = str(exc.detail)
    return envelope(status, _HTTP_CODES.get(status, "invalid_request"), message, headers=headers)


async def _storage_unavailable(request: Request, exc: Exception) -> JSON:
    """The database is down, locked or out of connections: retryable, not a bug."""
    if isinstance(exc, sqlite3.OperationalError) and not _TRANSIENT_SQLITE.search(str(exc)):
        return await _unexpected(request, exc)
    log.warning("storage unavailable on %s %s: %s", request.method, request.url.path, exc)
    return envelope(
        503,
        "unavailable",
        "The database is unavailable or busy; nothing was changed. Retry shortly.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _integrity_failure(request: Request, exc: Exception) -> JSON:
    """The stored tree is damaged: the server's problem, said plainly."""
    log.error("integrity failure on %s %s: %s", request.method, request.url.path, exc)
    return envelope(
        500,
        "integrity_failure",
        f"The stored Merkle tree failed a check ({exc}); an operator should run "
        "`trailkeeper verify`",
    )


async def _unexpected(request: Request, exc: Exception) -> JSON:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return envelope(
        500, "internal_error", "trailkeeper failed to handle this request; the error was logged"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TrailkeeperError, _trailkeeper_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    for storage_error in (psycopg.OperationalError, PoolTimeout, sqlite3.OperationalError):
        app.add_exception_handler(storage_error, _storage_unavailable)
    app.add_exception_handler(IntegrityError, _integrity_failure)
    app.add_exception_handler(Exception, _unexpected)
