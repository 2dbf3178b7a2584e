"""What a reader asks for: the filters of ``GET /v1/events`` (CONTRACT section 5).

OR within a name, AND across names. The query is plain data; each storage
backend turns it into SQL with ``storage/filters.py``."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

import orjson

from trailkeeper.errors import InvalidRequest
from trailkeeper.events.timestamps import format_timestamp, parse_date_bound

__all__ = ["FILTER_NAMES", "EventQuery", "Order"]

Order = Literal["asc", "desc"]
FILTER_NAMES = (
    "actor", "action", "category", "source", "resource_type",
    "resource_id", "run_id", "ip",
)  # fmt: skip
MAX_VALUE_LENGTH = 512
MAX_VALUES = 100
MAX_Q_LENGTH = 256
# "+03:00" sent unencoded in a query string arrives as " 03:00".
_SPACED_OFFSET = re.compile(r"\d \d{2}:\d{2}$")


@dataclass(frozen=True, slots=True)
class EventQuery:
    actor: tuple[str, ...] = ()
    action: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    resource_type: tuple[str, ...] = ()
    resource_id: tuple[str, ...] = ()
    run_id: tuple[str, ...] = ()
    ip: tuple[str, ...] = ()
    q: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    order: Order = "desc"

    @property
    def exact_actions(self) -> tuple[str, ...]:
        return tuple(a for a in self.action if not a.endswith(".*"))

    @property
    def action_prefixes(self) -> tuple[str, ...]:
        """``card.*`` → ``card.``: matches ``card.moved`` but not ``cards.x``."""
        return tuple(a[:-1] for a in self.action if a.endswith(".*"))

    def digest(self) -> str:
        """Stable fingerprint of the filters (not the order), to bind cursors."""
        data = asdict(self)
        data.pop("order")
        for bound in ("start", "end"):
            if data[bound] is not None:
                data[bound] = format_timestamp(data[bound])
        return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> EventQuery:
        """Build from query parameters, rejecting anything malformed with a 400."""
        values: dict[str, tuple[str, ...]] = {}
        for name in FILTER_NAMES:
            items = tuple(params.get(name, ()))
            if len(items) > MAX_VALUES:
                raise InvalidRequest(f"At most {MAX_VALUES} values of '{name}' per request")
            for item in items:
                _check_value(name, item, MAX_VALUE_LENGTH)
            values[name] = items
        values["ip"] = tuple(_normal_ip(v) for v in values["ip"])
        q = _single(params, "q")
        if q:
            _check_value("q", q, MAX_Q_LENGTH)
        start = _bound(params, "start", end=False)
        end = _bound(params, "end", end=True)
        if start is not None and end is not None and start > end:
            raise InvalidRequest("'start' must not be after 'end'")
        order = (_single(params, "order") or "desc").lower()
        if order not in ("asc", "desc"):
            raise InvalidRequest("'order' must be 'asc' or 'desc'")
        return cls(**values, q=q or None, start=start, end=end, order=order)  # type: ignore[arg-type]


def _check_value(name: str, value: str, longest: int) -> None:
    """Name the real problem: empty, NUL (``%00``) or too long, each on its own."""
    if not value:
        raise InvalidRequest(f"'{name}' must not be empty")
    if "\x00" in value:
        raise InvalidRequest(f"'{name}' must not contain a NUL character (%00)")
    if len(value) > longest:
        raise InvalidRequest(
            f"'{name}' must be at most {longest} characters (this one has {len(value):,})"
        )


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    items = params.get(name, ())
    if len(items) > 1:
        raise InvalidRequest(f"'{name}' may be given only once")
    return items[0] if items else None


def _bound(params: Mapping[str, Sequence[str]], name: str, *, end: bool) -> datetime | None:
    text = _single(params, name)
    if text is None:
        return None
    try:
        return parse_date_bound(text, end=end)
    except ValueError as exc:
        if _SPACED_OFFSET.search(text):
            raise InvalidRequest(
                f"'{name}' has a space where its offset's '+' belongs ({text[:64]!r}): in a "
                "query string '+' means a space, so write + as %2B "
                "(2026-11-20T13:45:00%2B03:00) or use Z"
            ) from None
        raise InvalidRequest(
            f"'{name}' {exc}; use RFC 3339 (2026-11-20T13:45:00Z) or a date (2026-11-20)"
        ) from None


def _normal_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise InvalidRequest(f"'ip' {value[:64]!r} is not a valid IP address") from None
