"""The feed's filters: the same query parameters as ``GET /v1/events``, read from the
page's URL, so a view can be shared and every error is the API's own message."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.requests import Request

from trailkeeper.errors import InvalidRequest
from trailkeeper.events.query import FILTER_NAMES, EventQuery

__all__ = ["PAGE_SIZE", "FeedFilters", "read_filters"]

PAGE_SIZE = 50
_NAMES = (*FILTER_NAMES, "q", "start", "end")
_PAGING = ("cursor",)


@dataclass(slots=True)
class FeedFilters:
    params: dict[str, list[str]] = field(default_factory=dict)
    query: EventQuery | None = None
    """None when the parameters are malformed (``error`` says why)."""
    error: str | None = None
    cursor: str | None = None

    def values(self, name: str) -> list[str]:
        return self.params.get(name, [])

    def first(self, name: str) -> str:
        values = self.params.get(name)
        return values[0] if values else ""

    def encoded(self, **extra: str) -> str:
        """The filters as a query string (for links: CSV, paging, pickers)."""
        pairs = [(k, v) for k, values in self.params.items() for v in values]
        pairs.extend(extra.items())
        return urlencode(pairs)

    def replaced(self, **values: str) -> str:
        """The filters with some names set to one value each (a picked resource)."""
        kept = {k: v for k, v in self.params.items() if k not in values}
        pairs = [(k, v) for k, vs in kept.items() for v in vs]
        return urlencode([*pairs, *values.items()])

    @property
    def active(self) -> bool:
        return bool(self.params)

    def without(self, name: str) -> EventQuery | None:
        """The query minus one filter: a picker offers the values beside those chosen."""
        if self.query is None:
            return None
        rest = {k: v for k, v in self.params.items() if k != name}
        return EventQuery.from_params(rest)


def read_filters(request: Request) -> FeedFilters:
    """Parse the URL as the API would; empty form fields count as not set."""
    filters = FeedFilters()
    try:
        for key, value in request.query_params.multi_items():
            if key in _PAGING:
                filters.cursor = value or None
                continue
            if key not in _NAMES:
                known = ", ".join(sorted((*_NAMES, *_PAGING)))
                raise InvalidRequest(f"Unknown query parameter {key[:64]!r}; known: {known}")
            if value:
                filters.params.setdefault(key, []).append(value)
        filters.query = EventQuery.from_params(filters.params)
    except InvalidRequest as exc:
        filters.error = exc.message
    return filters
