"""Errors as GraphQL sees them, mapped in one place.

A ``TrailkeeperError`` keeps its message and gets ``extensions.code`` (the REST
error code); a request error (syntax, validation, variables) gets
``invalid_request``; a database outage ``unavailable``; anything else is masked
and logged, never shown."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
from graphql import GraphQLError
from psycopg_pool import PoolTimeout
from strawberry.extensions import SchemaExtension

from trailkeeper.errors import TrailkeeperError
from trailkeeper.integrity import IntegrityError

__all__ = ["ErrorCodes", "error_body", "log_unexpected"]

log = logging.getLogger("trailkeeper.graphql")
_TRANSIENT_SQLITE = re.compile(r"locked|busy|disk I/O|unable to open", re.IGNORECASE)
# The service speaks REST names; say the GraphQL ones.
_NAMES = {
    "resource_type": "resourceType",
    "resource_id": "resourceId",
    "run_id": "runId",
    "webhook_url": "webhookUrl",
    "next_cursor": "endCursor",
}
_NAME = re.compile(r"\b(" + "|".join(_NAMES) + r")\b")
UNAVAILABLE = "The database is unavailable or busy; nothing was changed. Retry shortly."
INTERNAL = "trailkeeper failed to handle this field; the error was logged"


def graphql_names(message: str) -> str:
    return _NAME.sub(lambda m: _NAMES[m.group(1)], message)


def error_body(error: TrailkeeperError) -> dict[str, Any]:
    """The REST envelope plus a GraphQL ``errors`` list, for answers given before
    any GraphQL runs (401, 429), so that both kinds of client can read them."""
    return {
        **error.to_body(),
        "errors": [{"message": error.message, "extensions": _extensions(error)}],
    }


def _extensions(error: TrailkeeperError) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": error.code}
    if error.details:
        extensions["details"] = error.details
    retry = error.headers.get("X-Retry-After")
    if retry is not None:
        extensions["retryAfter"] = int(retry)
    return extensions


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return _TRANSIENT_SQLITE.search(str(exc)) is not None
    return isinstance(exc, psycopg.OperationalError | PoolTimeout)


def _unexpected(error: GraphQLError) -> bool:
    """A bug or an outage inside a field, not something the client sent."""
    original = error.original_error
    return (
        error.path is not None
        and original is not None
        and not isinstance(original, TrailkeeperError | GraphQLError)
    )


def _coded(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def translate(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, TrailkeeperError):
        return _coded(error, graphql_names(original.message), _extensions(original))
    if not _unexpected(error):
        return _coded(error, error.message, {"code": "invalid_request", **(error.extensions or {})})
    assert original is not None
    if _unavailable(original):
        return _coded(error, UNAVAILABLE, {"code": "unavailable"})
    if isinstance(original, IntegrityError):
        message = (
            "The stored Merkle tree failed a check; an operator should run `trailkeeper verify`"
        )
        return _coded(error, message, {"code": "integrity_failure"})
    return _coded(error, INTERNAL, {"code": "internal_error"})


def log_unexpected(errors: list[GraphQLError]) -> None:
    """Log what the client did not cause; client errors are answers, not incidents."""
    for error in errors:
        if not _unexpected(error):
            continue
        original = error.original_error
        assert original is not None
        where = ".".join(str(p) for p in error.path or ())
        if _unavailable(original):
            log.warning("storage unavailable in GraphQL field %s: %s", where, original)
        else:
            log.error("GraphQL field %s failed", where, exc_info=original)


class ErrorCodes(SchemaExtension):
    """Rewrites every error of a result with ``translate`` (like strawberry's
    ``MaskErrors``, which runs after ``Schema.process_errors`` has logged them)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [translate(error) for error in result.errors]
