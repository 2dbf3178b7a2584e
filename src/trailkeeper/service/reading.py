"""Reading the log: pages with cursors, single events, facets, runs, downloads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from trailkeeper.cursors import CursorCodec
from trailkeeper.errors import InvalidRequest, NotFound
from trailkeeper.events.query import EventQuery
from trailkeeper.events.view import EventView
from trailkeeper.storage.protocols import EventStore, Facet
from trailkeeper.storage.tenants import Tenant

__all__ = ["DOWNLOAD_MAX_ROWS", "MAX_LIMIT", "Page", "ReadService"]

MAX_LIMIT = 999
DOWNLOAD_MAX_ROWS = 100_000
RUN_MAX_EVENTS = 10_000
_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class Page:
    data: list[EventView]
    next_cursor: str | None
    has_more: bool


def check_limit(limit: int, default_max: int = MAX_LIMIT) -> int:
    if not 1 <= limit <= default_max:
        raise InvalidRequest(f"'limit' must be between 1 and {default_max}")
    return limit


class ReadService:
    def __init__(
        self, store: EventStore, cursors: CursorCodec, download_cap: int = DOWNLOAD_MAX_ROWS
    ) -> None:
        self._store = store
        self._cursors = cursors
        self.download_cap = download_cap

    def page(self, tenant: Tenant, query: EventQuery, cursor: str | None, limit: int) -> Page:
        """One page in ``seq`` order.

        With ``order=asc`` the last page still carries a cursor at the newest
        event seen, so a poller resumes exactly after it."""
        check_limit(limit)
        after = None if cursor is None else self._cursors.decode(cursor, tenant.id, query)
        rows = self._store.page(tenant.id, query, after, limit + 1)
        has_more = len(rows) > limit
        rows = rows[:limit]
        if rows and (has_more or query.order == "asc"):
            next_cursor: str | None = self._cursors.encode(tenant.id, query, rows[-1]["seq"])
        elif query.order == "asc":
            resume = -1 if after is None else after
            next_cursor = self._cursors.encode(tenant.id, query, resume)
        else:
            next_cursor = None
        return Page(rows, next_cursor, has_more)

    def cursor_at(self, tenant: Tenant, query: EventQuery, seq: int) -> str:
        """A cursor resuming after ``seq`` (Relay gives every edge its own)."""
        return self._cursors.encode(tenant.id, query, seq)

    def event(self, tenant: Tenant, event_id: str) -> EventView:
        view = self._store.get_event(tenant.id, event_id)
        if view is None:
            raise NotFound(f"No event with id {event_id!r}")
        return view

    def facet(
        self, tenant: Tenant, name: str, query: EventQuery, limit: int
    ) -> list[dict[str, Any]]:
        if name not in ("actor", "action", "category", "source", "resource"):
            raise NotFound(f"No facet {name!r}; use actor, action, category, source or resource")
        check_limit(limit)
        facet: Facet = name  # type: ignore[assignment]
        return self._store.facet(tenant.id, facet, query, limit)

    def run(self, tenant: Tenant, run_id: str) -> tuple[list[EventView], bool]:
        """A run's events in order, and whether there were more than ``RUN_MAX_EVENTS``."""
        events = self._store.run_events(tenant.id, run_id, RUN_MAX_EVENTS + 1)
        if not events:
            raise NotFound(f"No events for run {run_id!r}")
        return events[:RUN_MAX_EVENTS], len(events) > RUN_MAX_EVENTS

    def download(self, tenant: Tenant, query: EventQuery) -> Iterator[EventView]:
        """Matching events in chunks of 1,000: memory stays flat however many match.

        Raises before streaming if more than 100,000 events match."""
        cap = self.download_cap
        if self._store.count(tenant.id, query, cap + 1) > cap:
            raise InvalidRequest(
                f"More than {cap:,} events match; narrow the filters or "
                "request an export with POST /v1/exports"
            )
        return self._chunks(tenant, query)

    def _chunks(self, tenant: Tenant, query: EventQuery) -> Iterator[EventView]:
        after: int | None = None
        sent = 0
        while sent < self.download_cap:
            rows = self._store.page(tenant.id, query, after, min(_CHUNK, self.download_cap - sent))
            yield from rows
            sent += len(rows)
            if len(rows) < _CHUNK:
                return
            after = rows[-1]["seq"]
