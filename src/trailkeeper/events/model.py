"""The event as producers send it (CONTRACT section 4): validation only.

Pydantic models in strict mode with unknown fields forbidden, so a wrong
type is an error rather than a silent coercion."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trailkeeper.events.timestamps import parse_rfc3339

__all__ = ["ActorIn", "ActorType", "ChangeIn", "EventIn", "ResourceIn", "RunIn", "Source"]

MAX_FUTURE = timedelta(minutes=5)
ACTION_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Already in the form ipaddress would print: skip the (slow) parse and re-format.
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


ActorType = Literal["user", "service_account", "system", "agent", "automation"]
Source = Literal["web", "api", "mcp", "cli", "system", "automation"]

_STRICT = ConfigDict(extra="forbid", strict=True, str_min_length=0)

Text = Annotated[str, Field(max_length=1024)]


class ActorIn(BaseModel):
    model_config = _STRICT
    id: Annotated[str, Field(min_length=1, max_length=256)]
    type: ActorType = "user"
    name: Annotated[str, Field(max_length=256)] | None = None
    email: Annotated[str, Field(max_length=320)] | None = None


class ResourceIn(BaseModel):
    model_config = _STRICT
    type: Annotated[str, Field(min_length=1, max_length=64)]
    id: Annotated[str, Field(min_length=1, max_length=256)]
    name: Annotated[str, Field(max_length=512)] | None = None


class ChangeIn(BaseModel):
    model_config = _STRICT
    field: Annotated[str, Field(min_length=1, max_length=256)]
    old: Any = None
    new: Any = None


class RunIn(BaseModel):
    model_config = _STRICT
    id: Annotated[str, Field(min_length=1, max_length=256)]
    flow: Text | None = None
    step: Text | None = None
    status: Annotated[str, Field(max_length=64)] | None = None
    input: Any = None
    output: Any = None
    error: Any = None
    duration_ms: Annotated[int, Field(ge=0)] | None = None


class EventIn(BaseModel):
    """One event as received; ``occurred_at`` is parsed to an aware UTC datetime."""

    model_config = _STRICT
    id: Annotated[str, Field(pattern=ID_PATTERN)] | None = None
    action: Annotated[str, Field(min_length=1, max_length=128, pattern=ACTION_PATTERN)]
    category: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    occurred_at: datetime
    actor: ActorIn
    resource: ResourceIn | None = None
    source: Source = "api"
    ip: str | None = None
    user_agent: Annotated[str, Field(max_length=512)] | None = None
    changes: list[ChangeIn] | None = None
    run: RunIn | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _rfc3339(cls, value: Any) -> datetime:
        if not isinstance(value, str):
            raise ValueError("must be an RFC 3339 string with an offset")
        moment = parse_rfc3339(value)
        if moment > datetime.now(UTC) + MAX_FUTURE:
            raise ValueError("is more than 5 minutes in the future; check the producer's clock")
        return moment

    @field_validator("ip")
    @classmethod
    def _ip_address(cls, value: str | None) -> str | None:
        if value is None or _CANONICAL_IPV4.fullmatch(value):
            return value
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(f"{value[:64]!r} is not a valid IPv4 or IPv6 address") from None
