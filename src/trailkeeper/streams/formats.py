"""The forms an event takes on its way to a SIEM: ``native`` (the event as the API
returns it), ``ocsf`` (:mod:`.ocsf`) or ``cef`` (:mod:`.cef`, syslog only).

Streams read raw rows (:mod:`trailkeeper.storage.exportrows`), as export jobs do, and
get each event's JSON from the export path's JSON Lines writer (in C where it is built):
the line is the API view plus ``pii_salt``, its last member, which is cut off. A
``native`` event then travels as those bytes, never parsed; the other formats parse
them once. The test event of ``POST /v1/streams/{id}/test`` comes as a view instead."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from trailkeeper.events.timestamps import format_micros, parse_rfc3339, to_micros
from trailkeeper.events.view import EventView
from trailkeeper.exports.jsonlines import jsonl_rows
from trailkeeper.storage.exportrows import OCCURRED_AT, SEQ, ExportRow
from trailkeeper.streams.cef import cef_event
from trailkeeper.streams.ocsf import ocsf_event

__all__ = ["FORMATTERS", "Item", "format_events", "items_from_rows"]

_SALT = b',"pii_salt":'
_ACTION: Final = 2


@dataclass(frozen=True, slots=True)
class Item:
    """One event on its way out: where it sits in the log, when it happened, and its
    body in the stream's format: the native JSON text (``raw``), or a formatted object
    or CEF line (``body``)."""

    seq: int
    id: str
    action: str
    micros: int  # occurred_at, microseconds since the epoch
    body: dict[str, Any] | str | None = None
    raw: bytes | None = None

    @property
    def occurred_at(self) -> str:
        return format_micros(self.micros)

    @property
    def value(self) -> dict[str, Any] | str:
        """The body as an object (or a CEF line)."""
        if self.body is not None:
            return self.body
        assert self.raw is not None
        parsed: dict[str, Any] = orjson.loads(self.raw)
        return parsed

    @property
    def encoded(self) -> bytes:
        """The body as JSON text (a CEF line as its UTF-8)."""
        if self.raw is not None:
            return self.raw
        if isinstance(self.body, str):
            return self.body.encode()
        return orjson.dumps(self.body)


def _native(event: EventView) -> dict[str, Any]:
    return dict(event)


FORMATTERS: dict[str, Callable[[EventView], dict[str, Any] | str]] = {
    "native": _native,
    "ocsf": ocsf_event,
    "cef": cef_event,
}


def items_from_rows(fmt: str, rows: Sequence[ExportRow]) -> list[Item]:
    """The items of a batch of raw rows, in the stream's format."""
    if not rows:
        return []
    lines = jsonl_rows(rows).split(b"\n")
    formatter = None if fmt == "native" else FORMATTERS[fmt]
    items = []
    for row, line in zip(rows, lines, strict=False):
        raw = line[: line.rindex(_SALT)] + b"}"
        body = None if formatter is None else formatter(orjson.loads(raw))
        items.append(
            Item(
                row[SEQ], row[0].decode(), row[_ACTION].decode(), row[OCCURRED_AT],
                body=body, raw=raw if formatter is None else None,
            )
        )  # fmt: skip
    return items


def format_events(fmt: str, events: list[EventView]) -> list[Item]:
    """Items of events given as API views."""
    formatter = FORMATTERS[fmt]
    return [
        Item(
            e["seq"], e["id"], e["action"], to_micros(parse_rfc3339(e["occurred_at"])),
            body=formatter(e),
        )
        for e in events
    ]  # fmt: skip
