"""Views to Arrow columns: the shared first step of the CSV and Parquet writers.

Arrow converts a batch of views in one pass when told their shape (a struct array, split
into columns without copying), several times cheaper than a Python list per column; only the
free-form parts (``changes``, ``run``, ``metadata``) are encoded here, as JSON text, which
keeps the exact values the leaf hash was computed from. Timestamps stay the API's strings;
each format decides their type.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import orjson
import pyarrow as pa

from trailkeeper.events.view import EventView

__all__ = ["BUILD_ROWS", "COLUMNS", "view_columns"]

BUILD_ROWS = 2048
"""Views converted at a time: short-lived Python objects are cheap, long-lived ones are not."""

COLUMNS = (
    "id", "seq", "action", "category", "occurred_at", "received_at",
    "actor_id", "actor_type", "actor_name", "actor_email",
    "resource_type", "resource_id", "resource_name",
    "source", "ip", "user_agent", "changes", "run_id", "run", "metadata",
    "pii", "leaf_hash", "pii_salt",
)  # fmt: skip
"""Every field of a view, flat, with ``run_id`` (``run.id``) for filtering without JSON."""

_STRING = pa.string()
_FREE_FORM = ("changes", "run", "metadata")
_FLAT = (
    "id", "seq", "action", "category", "occurred_at", "received_at", "source", "ip",
    "user_agent", "pii", "leaf_hash", "pii_salt",
)  # fmt: skip
_VIEW_TYPE = pa.struct(
    [(name, pa.int64() if name == "seq" else _STRING) for name in _FLAT]
    + [("actor", pa.struct([(k, _STRING) for k in ("id", "type", "name", "email")])),
       ("resource", pa.struct([(k, _STRING) for k in ("type", "id", "name")])),
       ("run", pa.struct([("id", _STRING)]))]
)  # fmt: skip
"""The parts of a view Arrow reads directly (keys not named here are ignored)."""


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _json_column(values: Iterable[Any]) -> pa.Array:
    return pa.array(list(map(_json_text, values)), _STRING)


def view_columns(views: Sequence[EventView]) -> dict[str, pa.Array]:
    """:data:`COLUMNS` of a batch of views (API views plus ``pii_salt``, every key present,
    null when absent); timestamps as the API's strings."""
    rows = pa.array(views, type=_VIEW_TYPE)
    actor = rows.field("actor")
    resource = rows.field("resource").flatten()  # a null resource gives null columns
    columns = {name: rows.field(name) for name in _FLAT}
    columns.update(
        actor_id=actor.field("id"),
        actor_type=actor.field("type"),
        actor_name=actor.field("name"),
        actor_email=actor.field("email"),
        resource_type=resource[0],
        resource_id=resource[1],
        resource_name=resource[2],
        run_id=rows.field("run").flatten()[0],
    )
    for name in _FREE_FORM:
        columns[name] = _json_column(map(itemgetter(name), views))
    return columns
