"""The event as producers send it (CONTRACT section 4): validation only.

msgspec Structs in strict mode with unknown fields forbidden, so a wrong type is an
error rather than a silent coercion. ``msgspec.convert`` checks a parsed event in C in a
few microseconds; only an event it refuses goes through :mod:`trailkeeper.events.problems`,
which lists every problem of the event, worded for a person."""

from __future__ import annotations

import ipaddress
import math
import re
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from trailkeeper.events.timestamps import parse_rfc3339_text

__all__ = [
    "ActorIn",
    "ActorType",
    "ChangeIn",
    "EventIn",
    "ResourceIn",
    "RunIn",
    "Source",
    "ValidEvent",
    "validate_event",
]

MAX_FUTURE = timedelta(minutes=5)
# (?!\n) before $: Python's $ also matches before a final newline (JSON Schema readers
# of the same pattern, ECMAScript regexes, read it the same way).
ACTION_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_]+)*(?!\n)$"
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}(?!\n)$"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Already in the form ipaddress would print: skip the (slow) parse and re-format.
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")

ActorType = Literal["user", "service_account", "system", "agent", "automation"]
Source = Literal["web", "api", "mcp", "cli", "system", "automation"]
Text = Annotated[str, Meta(max_length=1024)]


class _Strict(Struct, forbid_unknown_fields=True, kw_only=True, gc=False):
    pass


class ActorIn(_Strict):
    id: Annotated[str, Meta(min_length=1, max_length=256)]
    type: ActorType = "user"
    name: Annotated[str, Meta(max_length=256)] | None = None
    email: Annotated[str, Meta(max_length=320)] | None = None


class ResourceIn(_Strict):
    type: Annotated[str, Meta(min_length=1, max_length=64)]
    id: Annotated[str, Meta(min_length=1, max_length=256)]
    name: Annotated[str, Meta(max_length=512)] | None = None


class ChangeIn(_Strict):
    field: Annotated[str, Meta(min_length=1, max_length=256)]
    old: Any = None
    new: Any = None


class RunIn(_Strict):
    id: Annotated[str, Meta(min_length=1, max_length=256)]
    flow: Text | None = None
    step: Text | None = None
    status: Annotated[str, Meta(max_length=64)] | None = None
    input: Any = None
    output: Any = None
    error: Any = None
    duration_ms: Annotated[int, Meta(ge=0)] | None = None


class EventIn(_Strict, kw_only=True):
    """One event as received; ``occurred_at`` is checked apart (:func:`validate_event`)."""

    id: Annotated[str, Meta(pattern=ID_PATTERN)] | None = None
    action: Annotated[str, Meta(min_length=1, max_length=128, pattern=ACTION_PATTERN)]
    category: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    occurred_at: Any
    actor: ActorIn
    resource: ResourceIn | None = None
    source: Source = "api"
    ip: str | None = None
    user_agent: Annotated[str, Meta(max_length=512)] | None = None
    changes: list[ChangeIn] | None = None
    run: RunIn | None = None
    metadata: dict[str, Any] | None = None


class ValidEvent(Struct, gc=False):
    """A valid event, with ``occurred_at`` parsed (UTC, and as the API writes it) and
    ``ip`` in canonical text."""

    event: EventIn
    occurred_at: datetime
    occurred_text: str
    ip: str | None


class InvalidField(ValueError):
    """A field that the Struct accepts but the contract does not; ``args[0]`` is the field."""


def validate_event(raw: Any) -> ValidEvent:
    """``raw`` (a parsed JSON object) checked against the contract.

    Raises ``msgspec.ValidationError`` (shape, types, lengths) or ``InvalidField``
    (``occurred_at``, ``ip``): :func:`trailkeeper.events.problems.problems_of` words them."""
    event = msgspec.convert(raw, EventIn, strict=True)
    moment, text = occurred_at(event.occurred_at)
    return ValidEvent(event, moment, text, canonical_ip(event.ip))


def occurred_at(value: Any) -> tuple[datetime, str]:
    """The instant (UTC) and its text as the API writes it."""
    if not isinstance(value, str):
        raise InvalidField("occurred_at", "must be an RFC 3339 string with an offset")
    try:
        moment, text = parse_rfc3339_text(value)
    except ValueError as exc:
        raise InvalidField("occurred_at", str(exc)) from None
    if _in_future(moment):
        raise InvalidField(
            "occurred_at", "is more than 5 minutes in the future; check the producer's clock"
        )
    return moment, text


class _Horizon:
    """``now + MAX_FUTURE``, read from the clock at most once a second while events stay
    before it (reading an aware ``now`` costs about as much as parsing the timestamp). An
    event after the remembered horizon reads the clock again, so a stale horizon only ever
    sends an event to that check; if the clock steps back, it is trusted for at most
    ``_HORIZON_SECONDS`` more."""

    latest = datetime.min.replace(tzinfo=UTC)
    read_at = -math.inf


_HORIZON_SECONDS = 1.0


def _in_future(moment: datetime) -> bool:
    """Whether ``moment`` is more than ``MAX_FUTURE`` after now."""
    if moment <= _Horizon.latest and time.monotonic() - _Horizon.read_at < _HORIZON_SECONDS:
        return False
    _Horizon.read_at = time.monotonic()
    _Horizon.latest = datetime.now(UTC) + MAX_FUTURE
    return moment > _Horizon.latest


def canonical_ip(value: str | None) -> str | None:
    if value is None or _CANONICAL_IPV4.fullmatch(value):
        return value
    return _parsed_ip(value)


@lru_cache(maxsize=4096)
def _parsed_ip(value: str) -> str:
    """The canonical text of an address that is not already canonical IPv4: costly for an
    IPv6 address (``ipaddress`` parses it), and a producer's traffic repeats its users'
    addresses (refusals, raised, are not kept)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise InvalidField("ip", f"{value[:64]!r} is not a valid IPv4 or IPv6 address") from None
