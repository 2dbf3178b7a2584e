"""CSV with every field (CONTRACT section 5), via the stdlib ``csv`` module.

Cells that a spreadsheet would run as a formula get one leading ``'``; an
empty cell is null; nested parts are JSON text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from trailkeeper.events.view import EventView
from trailkeeper.formats.writer import CHUNK_ROWS

__all__ = ["CSV_HEADER", "CsvWriter", "defuse"]

CSV_HEADER = (
    "timestamp", "user", "user_email", "actor_id", "actor_type", "event_type", "category",
    "source", "ip", "resource_type", "resource_id", "resource_name", "run_id", "changes",
    "metadata", "id", "seq", "received_at", "user_agent", "run", "leaf_hash", "pii", "pii_salt",
)  # fmt: skip
_FORMULA_STARTS = ("=", "+", "-", "@", "'", "\t", "\r")


def defuse(cell: str) -> str:
    """Prefix ``'`` to cells that spreadsheets would evaluate (CSV injection)."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return defuse(value)
    return defuse(orjson.dumps(value).decode())


def csv_cells(event: EventView, include_salt: bool) -> list[str]:
    actor = event["actor"]
    resource: Mapping[str, Any] = event.get("resource") or {}
    run = event.get("run")
    values = (
        event["occurred_at"], actor.get("name"), actor.get("email"), actor["id"], actor["type"],
        event["action"], event["category"], event["source"], event.get("ip"),
        resource.get("type"), resource.get("id"), resource.get("name"),
        None if run is None else run.get("id"), event.get("changes"), event.get("metadata"),
        event["id"], event["seq"], event["received_at"], event.get("user_agent"), run,
        event["leaf_hash"], event["pii"], event.get("pii_salt") if include_salt else None,
    )  # fmt: skip
    return [_text(v) for v in values]


class CsvWriter:
    media_type = "text/csv; charset=utf-8"

    def chunks(self, events: Iterable[EventView], *, include_salt: bool) -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        for rows, event in enumerate(events, start=1):
            writer.writerow(csv_cells(event, include_salt))
            if rows % CHUNK_ROWS == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
