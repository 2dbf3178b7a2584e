"""Named SQL, one ``queries.sql`` per backend, loaded like the migrations (the
Procrastinate way): each query is read as SQL, with its name and what it is for beside it,
and the SQLite and PostgreSQL versions of a query carry the same name.

A query starts with a line ``-- name --``, then comment lines saying what it is for, then
its SQL up to the next name::

    -- tenant_by_id --
    -- One tenant, by id.
    SELECT id, name, webhook_secret FROM tenants WHERE id = %s
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from trailkeeper.storage.tenants import Tenant

__all__ = ["checkpoint_query", "load_queries", "parse_queries", "tenant_of"]

_NAME = re.compile(r"^-- ([a-z0-9_]+) --\n(?:--.*\n)*", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    """Every query of a ``queries.sql`` text by name (whatever precedes the first name is
    the file's header). A name given twice, or a query with no SQL, is an error."""
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, sql in zip(parts[1::2], parts[2::2], strict=True):
        sql = sql.strip().removesuffix(";").strip()
        if name in queries or not sql:
            raise ValueError(f"query {name!r} is repeated or empty")
        queries[name] = sql
    return queries


def load_queries(package: str) -> dict[str, str]:
    """The queries of ``package``'s ``queries.sql``."""
    return parse_queries((resources.files(package) / "queries.sql").read_text("utf-8"))


def checkpoint_query(tenant_id: int, size: int | None) -> tuple[str, tuple[int, ...]]:
    """The query (by name) and parameters of ``checkpoint(tenant_id, size)``: the latest
    checkpoint, or the one of that size."""
    if size is None:
        return "latest_checkpoint", (tenant_id,)
    return "checkpoint_of_size", (tenant_id, size)


def tenant_of(row: Sequence[Any] | None) -> Tenant | None:
    """The tenant of a row of ``tenant_by_id``, ``tenant_by_name`` or ``tenants``, if any."""
    return None if row is None else Tenant(row[0], row[1], bytes(row[2]))
