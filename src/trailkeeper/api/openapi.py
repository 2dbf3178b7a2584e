"""The OpenAPI description, kept true by rule rather than by hand.

Routes declare their success schemas (``response_model``) and the errors only
they can return (``errors(404)``). The rules every route shares are applied
here once, so a route added later is described truthfully without a line of
its own: any operation may answer 400 (the query-string rules), one with a body
413, one behind a token 401/403/429/503. FastAPI's 422 is removed: trailkeeper
answers validation problems with 400 and the error envelope."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from trailkeeper.api.schemas import ErrorEnvelope
from trailkeeper.events.model import EventIn
from trailkeeper.events.query import FILTER_NAMES, MAX_Q_LENGTH, MAX_VALUE_LENGTH, MAX_VALUES
from trailkeeper.exports.request import ExportRequest

__all__ = [
    "FILTER_VALUE",
    "INGEST_BODY",
    "IP_VALUE",
    "Q_VALUE",
    "TIME_BOUND",
    "errors",
    "install_openapi",
]

_ERRORS = {
    400: "invalid_request (bad body, query or path; unknown or repeated parameter), "
    "invalid_event, invalid_cursor or invalid_window",
    401: "unauthenticated: no token, a malformed one, or an unknown or revoked one",
    403: "forbidden: the token lacks the scope (or the link is invalid or expired)",
    404: "not_found: no such object in this tenant",
    409: "conflict: an event id already used with other content",
    413: "payload_too_large: the request body is over the limit",
    429: "rate_limited or quota_exceeded; see Retry-After",
    503: "unavailable: the database is unreachable or busy; retry after Retry-After",
}
_REF = "#/components/schemas/"
_NO_NUL = "^[^\\u0000]*$"
_SAFE_INTEGER = 2**53 - 1
# The rules EventQuery checks, stated for the list filters and export filters alike.
FILTER_VALUE = {"type": "string", "minLength": 1, "maxLength": MAX_VALUE_LENGTH, "pattern": _NO_NUL}
IP_VALUE = {"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]}
Q_VALUE = {"type": "string", "maxLength": MAX_Q_LENGTH, "pattern": _NO_NUL}
TIME_BOUND = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
}
_MAPPINGS = frozenset({"properties", "$defs", "patternProperties"})
_SCOPES_IN_FIELDS = frozenset({"/graphql"})
INGEST_BODY = {"$ref": f"{_REF}IngestRequest"}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the error statuses a route returns beyond the shared rules."""
    return {status: {"model": ErrorEnvelope, "description": _ERRORS[status]} for status in statuses}


def _envelope(status: int) -> dict[str, Any]:
    return {
        "description": _ERRORS[status],
        "content": {"application/json": {"schema": {"$ref": f"{_REF}ErrorEnvelope"}}},
    }


def _json_value() -> dict[str, Any]:
    """Any JSON, as the validator allows it: safe integers, strings without NUL."""
    value = {"$ref": f"{_REF}JsonValue"}
    return {
        "description": "Any JSON value: integers within ±(2^53 − 1), strings without NUL",
        "anyOf": [
            {"type": "null"},
            {"type": "boolean"},
            {"type": "integer", "minimum": -_SAFE_INTEGER, "maximum": _SAFE_INTEGER},
            {"type": "number", "minimum": -_SAFE_INTEGER, "maximum": _SAFE_INTEGER},
            {"type": "string", "pattern": _NO_NUL},
            {"type": "array", "items": value},
            {
                "type": "object",
                "additionalProperties": value,
                "propertyNames": {"pattern": _NO_NUL},
            },
        ],
    }


def _refine(node: Any) -> Any:
    """State in the schema what the event validator checks in code."""
    if isinstance(node, list):
        return [_refine(item) for item in node]
    if not isinstance(node, dict):
        return node
    if not ({"type", "anyOf", "$ref", "enum", "const"} & node.keys()):
        return {**node, "$ref": f"{_REF}JsonValue"}  # an Any field (old, new, input, …)
    refined = {
        key: {n: _refine(s) for n, s in value.items()} if key in _MAPPINGS else _refine(value)
        for key, value in node.items()
    }
    if refined.get("type") == "integer":  # orjson makes longer literals floats
        refined.setdefault("maximum", _SAFE_INTEGER)
        refined.setdefault("minimum", -_SAFE_INTEGER)
    if refined.get("type") == "string" and "pattern" not in refined and "enum" not in refined:
        refined["pattern"] = _NO_NUL
    if refined.get("type") == "object" and refined.get("additionalProperties") is True:
        refined["additionalProperties"] = {"$ref": f"{_REF}JsonValue"}
        refined["propertyNames"] = {"pattern": _NO_NUL}
    return refined


def ingest_schemas() -> dict[str, Any]:
    """The body of ``POST /v1/events``, from the event model, refined."""
    _, defs = msgspec.json.schema_components([EventIn], ref_template=_REF + "{name}")
    schemas: dict[str, Any] = {name: _refine(s) for name, s in defs.items()}
    event = schemas.pop("EventIn")
    properties = event["properties"]
    properties["occurred_at"] = {  # checked in code (model.occurred_at), Any in the Struct
        "type": "string",
        "format": "date-time",
        "description": "RFC 3339 with an offset; at most 5 minutes in the future",
    }
    properties["ip"] = {
        "anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"},
                  {"type": "null"}],
        "default": None,
    }  # fmt: skip
    schemas["EventIn"] = event
    schemas["JsonValue"] = _json_value()
    schemas["IngestBatch"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["events"],
        "properties": {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                "items": {"$ref": f"{_REF}EventIn"},
            }
        },
    }
    schemas["IngestRequest"] = {
        "description": "One event, or a batch of up to 1,000 (at most 64 KiB each as JSON)",
        "oneOf": [{"$ref": f"{_REF}EventIn"}, {"$ref": f"{_REF}IngestBatch"}],
    }
    return schemas


def filters_schema() -> dict[str, Any]:
    """The ``filters`` object of exports and streams: the names and values of GET /v1/events."""
    filters: dict[str, Any] = {
        name: {"anyOf": [item, {"type": "array", "items": item, "maxItems": MAX_VALUES}]}
        for name in FILTER_NAMES
        for item in [IP_VALUE if name == "ip" else FILTER_VALUE]
    }
    filters["q"] = Q_VALUE
    return {"type": "object", "additionalProperties": False, "properties": filters}


def export_schemas() -> dict[str, Any]:
    """The body of ``POST /v1/exports``, from its model; filter names as the validator has them."""
    export = ExportRequest.model_json_schema(ref_template=_REF + "{model}")
    schemas: dict[str, Any] = export.pop("$defs", {})
    export["properties"]["filters"] = {
        **filters_schema(),
        "description": "The filters of GET /v1/events; a name takes one value or a list. "
        "resource_type and resource_id only when 'resource' is not given",
    }
    export["properties"]["webhook_url"]["description"] = (
        "https URL that must resolve to a public address; receives export.succeeded/failed"
    )
    return {**schemas, "ExportRequest": _refine(export)}


def _apply_rules(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    statuses = [400]
    if "requestBody" in operation:
        statuses.append(413)
    if operation.get("security"):
        # GraphQL checks scopes per field and answers them in a 200's "errors".
        statuses += [401, 429, 503] if path in _SCOPES_IN_FIELDS else [401, 403, 429, 503]
    for status in statuses:
        responses.setdefault(str(status), _envelope(status))


def build_openapi(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    components.update(ingest_schemas())
    components.update(export_schemas())
    envelope = ErrorEnvelope.model_json_schema(ref_template=_REF + "{model}")
    components.update(envelope.pop("$defs"))
    components["ErrorEnvelope"] = envelope
    for path, methods in spec.get("paths", {}).items():
        for operation in methods.values():
            _apply_rules(path, operation)
    return spec


def install_openapi(app: FastAPI) -> None:
    """Serve ``build_openapi``'s description at /openapi.json (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
