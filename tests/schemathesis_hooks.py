"""Schemathesis hooks for the suite's run (loaded through ``SCHEMATHESIS_HOOKS``).

Only *positive* cases (those the schema says are valid) are touched, and only
for rules JSON Schema cannot state: a value relative to today or to the log's
current size, one field compared with another, an opaque value the server
issues, a webhook host that must resolve. Every such rule is in the operation's
description; negative cases are left alone."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

import schemathesis

from trailkeeper.streams.config import CONFIGS

TREE_SIZE = int(os.environ.get("TK_SCHEMATHESIS_TREE_SIZE", "1"))
_PAST = "2020-01-01T00:00:00Z"


def _moment(text: Any, *, end: bool) -> datetime | None:
    """A filter bound as the server reads it (a date is a whole UTC day)."""
    if not isinstance(text, str):
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) - timedelta(microseconds=1) if end else moment
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo else None


def _filters(query: dict[str, Any]) -> None:
    query.pop("cursor", None)  # opaque: only the server makes valid ones
    start, end = _moment(query.get("start"), end=False), _moment(query.get("end"), end=True)
    if start is not None and end is not None and start > end:
        query["start"], query["end"] = query["end"], query["start"]
        if _moment(query["start"], end=False) > _moment(query["end"], end=True):  # type: ignore[operator]
            query.pop("start")


def _proofs(path: str, query: dict[str, Any]) -> None:
    """Sizes and indexes within the log the suite seeded (TREE_SIZE events, checkpointed)."""
    if path.endswith("inclusion"):
        size = min(max(int(query.get("tree_size") or TREE_SIZE), 1), TREE_SIZE)
        if "tree_size" in query:
            query["tree_size"] = size
        query["seq"] = int(query.get("seq", 0)) % size
    else:
        first, second = sorted(min(int(query.get(k, 0)), TREE_SIZE) for k in ("first", "second"))
        query["first"], query["second"] = first, second


def _event(event: Any) -> None:
    run = event.get("run") if isinstance(event, dict) else None
    if isinstance(run, dict) and isinstance(run.get("duration_ms"), float):
        run["duration_ms"] = int(run["duration_ms"])  # 5.0 is a JSON Schema integer; send 5
    if isinstance(event, dict) and isinstance(event.get("occurred_at"), str):
        moment = _moment(event["occurred_at"], end=False)
        if moment is None or moment > datetime.now(UTC):  # "at most 5 minutes in the future"
            event["occurred_at"] = _PAST


def _body(path: str, body: Any) -> None:
    if not isinstance(body, dict):
        return
    if path == "/v1/events":
        for event in body.get("events", [body]) if isinstance(body.get("events"), list) else [body]:
            _event(event)
    elif path == "/v1/streams":
        _stream(body)
    elif path == "/v1/exports":
        for relative in ("start", "end", "webhook_url"):  # today's window; a resolvable host
            body.pop(relative, None)
        filters = body.get("filters")
        if body.get("resource") is not None and isinstance(filters, dict):
            filters.pop("resource_type", None)  # the resource goes one way or the other
            filters.pop("resource_id", None)
        if str(body.get("format", "")).lower() == "parquet":
            body["compression"] = "none"  # Parquet is compressed inside


_CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, a send fails at once
_URL_FIELDS = ("url", "endpoint", "authority_url", "endpoint_url")


def _stream(body: dict[str, Any]) -> None:
    """Destinations on loopback (the suite's server allows private ones): a generated
    host must also resolve and be allowed, which JSON Schema cannot say, and the
    run must never send anything beyond this machine."""
    config = body.get("config")
    model = CONFIGS.get(str(body.get("type")))
    if isinstance(config, dict) and model is not None:
        for name in _URL_FIELDS:  # defaults too: the public ones cannot resolve here
            if name in model.model_fields and (name in config or model.model_fields[name].default):
                config[name] = _CLOSED
        if "host" in config:
            config["host"], config["port"] = "127.0.0.1", 9


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    path = case.operation.path
    if isinstance(case.query, dict):
        if path in ("/v1/events", "/v1/events/download", "/v1/facets/{name}"):
            _filters(case.query)
        elif path.startswith("/v1/proofs/"):
            _proofs(path, case.query)
    _body(path, case.body)
    return case
