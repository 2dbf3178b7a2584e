"""How ``POST /graphql`` appears in the OpenAPI description.

The GraphQL schema itself is described by GraphQL (introspection, docs/graphql.md);
OpenAPI says what travels over HTTP: a JSON body ``{query, variables,
operationName}``, a GraphQL result, and the errors answered before GraphQL runs
(401, 429, an unreadable or oversized body), which carry both the REST envelope
and a GraphQL ``errors`` list."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from trailkeeper.api.graphql.body import MAX_BODY_BYTES, MAX_CONTAINERS, MAX_DEPTH
from trailkeeper.api.schemas import ErrorBody

__all__ = ["describe_graphql"]


class GraphQLRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(
        min_length=1, description="The GraphQL document (at most 2,000 tokens, depth 8)"
    )
    variables: dict[str, Any] | None = None
    operationName: str | None = None  # noqa: N815 (GraphQL over HTTP's name)
    extensions: dict[str, Any] | None = None


class GraphQLError(BaseModel):
    message: str
    locations: list[dict[str, int]] | None = None
    path: list[str | int] | None = None
    extensions: dict[str, Any] | None = None


class GraphQLResult(BaseModel):
    """A GraphQL response: field errors travel in ``errors`` with HTTP 200."""

    data: dict[str, Any] | None = None
    errors: list[GraphQLError] | None = None
    extensions: dict[str, Any] | None = None


class GraphQLRefusal(BaseModel):
    """An answer given before GraphQL ran, readable by REST and GraphQL clients alike."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorBody
    errors: list[GraphQLError]


_REFUSALS = {
    400: "The body is not a JSON object {query, variables}, or breaks a bound "
    f"({MAX_CONTAINERS:,} objects and arrays, {MAX_DEPTH} levels)",
    401: "unauthenticated: no token, a malformed one, or an unknown or revoked one",
    413: f"payload_too_large: the body is over {MAX_BODY_BYTES // 1024:,} KiB",
    429: "rate_limited: the token's read limit; see Retry-After",
    503: "unavailable: the database is unreachable or busy",
}


def describe_graphql() -> dict[str, Any]:
    """``add_api_route`` keyword arguments for the POST route."""
    schema = GraphQLRequest.model_json_schema()
    return {
        "summary": "Run a GraphQL query or mutation (audit logs, exports)",
        "description": (
            "`auditLogs`, `export`, `exportAuditLogs` and `exportPipeAuditLogsReport`, over the "
            "same service, scopes and rate limit as REST; see docs/graphql.md. Field errors "
            "come back with HTTP 200 in `errors`, each with `extensions.code`."
        ),
        "response_model": GraphQLResult,
        "responses": {
            status: {"model": GraphQLRefusal, "description": text}
            for status, text in _REFUSALS.items()
        },
        "openapi_extra": {
            "security": [{"HTTPBearer": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            },
        },
    }
