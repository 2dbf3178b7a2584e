"""The read queries of both backends, written once.

A backend supplies how to fetch rows, its SQL dialect, how it decodes stored
timestamps, its substring search over ``actor_texts``, and (for planning) how
many events a tenant has; the filters, planning and shapes are shared."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import replace
from typing import Any, Literal

from trailkeeper.events.query import EventQuery
from trailkeeper.events.view import EventView
from trailkeeper.storage.exportrows import ExportRow, export_select
from trailkeeper.storage.facets import facet_select, facet_value
from trailkeeper.storage.filters import Dialect, where_clause
from trailkeeper.storage.planning import Resolved, resolve
from trailkeeper.storage.protocols import Facet
from trailkeeper.storage.rows import READ_COLUMNS, view_from_row

__all__ = ["SELECT_EVENT", "SqlReads"]

SELECT_EVENT = ", ".join(READ_COLUMNS)


class SqlReads:
    backend: Literal["sqlite", "postgresql"]
    dialect: Dialect

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _timestamp(self, value: Any) -> str:
        raise NotImplementedError

    def _text_search(self, q: str) -> tuple[str, list[Any]]:
        raise NotImplementedError

    def _event_total(self, tenant_id: int) -> int:
        """Events in the tenant's log, to tell common filters from rare ones."""
        p = self.dialect.placeholder
        rows = self._fetch(f"SELECT next_seq FROM tenants WHERE id = {p}", (tenant_id,))
        return int(rows[0][0]) if rows else 0

    def _views(self, rows: list[tuple[Any, ...]]) -> list[EventView]:
        return [view_from_row(row, self._timestamp) for row in rows]

    def _where(self, tenant_id: int, query: EventQuery) -> tuple[str, list[Any]] | None:
        """The WHERE clause for ``query``, or None when it can match nothing."""
        planned = self._plan(tenant_id, query)
        return None if planned is None else planned[1:]

    def _plan(
        self, tenant_id: int, query: EventQuery, page: bool = False
    ) -> tuple[Resolved, str, list[Any]] | None:
        """The query resolved against the dictionaries and its WHERE clause (for one
        page of it when ``page``), or None when it can match nothing."""
        resolved = Resolved()
        if query.actor or query.q or query.action:
            resolved = resolve(
                self._fetch,
                self.dialect.placeholder,
                tenant_id,
                query,
                self._event_total(tenant_id),
                self._text_search,
            )
            if resolved.empty:
                return None
        if page:
            resolved = self._page_resolved(resolved, query)
        return resolved, *where_clause(tenant_id, query, self.dialect, resolved)

    def _page_resolved(self, resolved: Resolved, query: EventQuery) -> Resolved:
        """How a page's filters are written (a backend may plan pages its own way)."""
        return resolved

    def page(
        self, tenant_id: int, query: EventQuery, after: int | None, limit: int
    ) -> list[EventView]:
        planned = self._plan(tenant_id, query, page=True)
        if planned is None:
            return []
        resolved, where, params = planned
        p = self.dialect.placeholder
        if after is not None:
            where += f" AND seq > {p}" if query.order == "asc" else f" AND seq < {p}"
            params.append(after)
        sql, params = self._page_query(where, params, query, resolved, limit)
        return self._views(self._fetch(sql, params))

    def _page_query(
        self, where: str, params: list[Any], query: EventQuery, resolved: Resolved, limit: int
    ) -> tuple[str, list[Any]]:
        """The SQL of one page and its parameters (a backend may plan some pages its own
        way)."""
        return self._page_sql(where, query), [*params, limit]

    def _page_sql(self, where: str, query: EventQuery, columns: str = SELECT_EVENT) -> str:
        order = query.order
        p = self.dialect.placeholder
        return f"SELECT {columns} FROM events WHERE {where} ORDER BY seq {order} LIMIT {p}"

    def export_rows(
        self, tenant_id: int, query: EventQuery, batch_rows: int
    ) -> Generator[list[ExportRow]]:
        """The events ``query`` matches in ascending seq, as raw rows
        (:data:`~trailkeeper.storage.exportrows.EXPORT_ROW_COLUMNS`), ``batch_rows`` at a
        time. The filters are planned once, before the first row is read."""
        query = replace(query, order="asc")
        clause = self._where(tenant_id, query)
        if clause is None:
            return
        where, params = clause
        yield from self._export_batches(tenant_id, where, params, query, batch_rows)

    def stream_rows(
        self, tenant_id: int, query: EventQuery, after: int, limit: int
    ) -> list[ExportRow]:
        """Up to ``limit`` raw rows ``query`` matches after seq ``after``, ascending: what a
        stream sends next (the filters planned afresh, so new actors are found)."""
        planned = self._stream_sql(tenant_id, query, after, limit)
        return [] if planned is None else self._stream_rows_fetch(*planned)

    def _stream_sql(
        self, tenant_id: int, query: EventQuery, after: int, limit: int
    ) -> tuple[str, list[Any]] | None:
        """The SQL of :meth:`stream_rows` and its parameters; None when the filters can
        match nothing."""
        query = replace(query, order="asc")
        clause = self._where(tenant_id, query)
        if clause is None:
            return None
        where, params = clause
        p = self.dialect.placeholder
        sql = self._page_sql(f"{where} AND seq > {p}", query, export_select(self.backend))
        return sql, [*params, after, limit]

    def _stream_rows_fetch(self, sql: str, params: list[Any]) -> list[ExportRow]:
        """Run a stream's read (PostgreSQL pins its plan: ``postgres/streams.py``)."""
        rows: list[ExportRow] = self._fetch(sql, params)
        return rows

    def _export_batches(
        self, tenant_id: int, where: str, params: list[Any], query: EventQuery, batch_rows: int
    ) -> Generator[list[ExportRow]]:
        """The rows ``where`` matches in ascending seq: each backend reads them its own
        way (``sqlite/exports.py``, ``postgres/exports.py``)."""
        raise NotImplementedError

    def count(self, tenant_id: int, query: EventQuery, cap: int) -> int:
        clause = self._where(tenant_id, query)
        if clause is None:
            return 0
        where, params = clause
        p = self.dialect.placeholder
        sql = f"SELECT count(*) FROM (SELECT 1 FROM events WHERE {where} LIMIT {p}) AS capped"
        return int(self._fetch(sql, (*params, cap))[0][0])

    def facet(
        self, tenant_id: int, name: Facet, query: EventQuery, limit: int
    ) -> list[dict[str, Any]]:
        clause = self._where(tenant_id, query)
        if clause is None:
            return []
        where, params = clause
        rows = self._fetch(facet_select(name, where, self.dialect.placeholder), (*params, limit))
        return [facet_value(name, row) for row in rows]

    def run_events(self, tenant_id: int, run_id: str, limit: int) -> list[EventView]:
        p = self.dialect.placeholder
        sql = (
            f"SELECT {SELECT_EVENT} FROM events WHERE tenant_id = {p} AND run_id = {p} "
            f"ORDER BY seq LIMIT {p}"
        )
        return self._views(self._fetch(sql, (tenant_id, run_id, limit)))
