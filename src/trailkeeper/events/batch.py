"""Turn a request body into drafts, all or nothing.

Every problem in every event is reported, each with its index and field, so a
producer can fix a whole batch in one round trip."""

from __future__ import annotations

import os
from typing import Any

import msgspec
import orjson

from trailkeeper.errors import InvalidEvent, InvalidRequest
from trailkeeper.events.body import MAX_DEPTH, parse_json
from trailkeeper.events.canonical import CanonicalizationError
from trailkeeper.events.model import InvalidField, validate_event
from trailkeeper.events.problems import first_problem, problems_of
from trailkeeper.events.record import Draft, draft_from_input

__all__ = ["MAX_BATCH", "MAX_EVENT_BYTES", "drafts_from_body", "drafts_from_events"]

MAX_BATCH = 1000
MAX_EVENT_BYTES = 64 * 1024
SALT_BYTES = 16


def events_of_body(payload: Any) -> list[Any]:
    """One event, or ``{"events": [...]}`` with 1 to 1,000 events."""
    if isinstance(payload, dict) and "events" in payload:
        if len(payload) != 1:
            raise InvalidRequest('A batch body has exactly one field, "events"')
        events = payload["events"]
        if not isinstance(events, list):
            raise InvalidRequest('"events" must be a list of event objects')
        if not 1 <= len(events) <= MAX_BATCH:
            raise InvalidRequest(
                f'"events" holds {len(events)} events; send 1 to {MAX_BATCH} per request'
            )
        return events
    if isinstance(payload, dict):
        return [payload]
    raise InvalidRequest('The body must be an event object or {"events": [...]}')


def drafts_from_body(body: bytes) -> list[Draft]:
    return drafts_from_events(events_of_body(parse_json(body)))


def drafts_from_events(events: list[Any]) -> list[Draft]:
    """Validate and normalize; raise ``InvalidEvent`` listing every problem."""
    drafts: list[Draft] = []
    problems: list[dict[str, Any]] = []
    salts = os.urandom(SALT_BYTES * len(events))
    for index, raw in enumerate(events):
        try:
            drafts.append(_draft(raw, salts[index * SALT_BYTES : (index + 1) * SALT_BYTES]))
        except _EventProblems as exc:
            problems.extend({"index": index, **p} for p in exc.problems)
    if problems:
        bad = len({p["index"] for p in problems})
        raise InvalidEvent(
            f"{bad} of {len(events)} events failed validation; nothing was stored. "
            "See details for each problem.",
            details=problems,
        )
    return drafts


class _EventProblems(Exception):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        self.problems = problems


def _draft(raw: Any, salt: bytes) -> Draft:
    if not isinstance(raw, dict):
        raise _EventProblems([{"field": "", "message": "an event must be a JSON object"}])
    try:
        encoded = orjson.dumps(raw, option=orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError as exc:
        message = (
            f"the event nests objects and arrays more than {MAX_DEPTH} levels deep"
            if "ecursion" in str(exc)
            else "integers must be within ±(2**53 - 1) to hash exactly"
        )
        raise _EventProblems([{"field": "", "message": message}]) from None
    if len(encoded) > MAX_EVENT_BYTES:
        raise _EventProblems(
            [{"field": "", "message": f"the event is {len(encoded)} bytes; at most 64 KiB"}]
        )
    # find, not `in`: bytes' `in` first tries the needle as an integer, and formats and
    # clears a TypeError for each event (~1,100 instructions more than find)
    if encoded.find(b"\\u0000") >= 0:
        raise _EventProblems([{"field": "", "message": "strings may not contain NUL (\\u0000)"}])
    try:
        return draft_from_input(validate_event(raw), salt)
    except (msgspec.ValidationError, InvalidField) as exc:
        found = problems_of(raw)
        if not found and isinstance(exc, msgspec.ValidationError):
            found = first_problem(exc)
        raise _EventProblems(found) from None
    except CanonicalizationError as exc:
        raise _EventProblems([{"field": "", "message": str(exc)}]) from None
