"""The forms an event takes on its way to a SIEM: ``native`` (the event as the API
returns it), ``ocsf`` (:mod:`.ocsf`) or ``cef`` (:mod:`.cef`, syslog only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trailkeeper.streams.cef import cef_event
from trailkeeper.streams.ocsf import ocsf_event

__all__ = ["FORMATTERS", "Item", "format_events"]


@dataclass(frozen=True, slots=True)
class Item:
    """One event on its way out: where it sits in the log, and its body in the
    stream's format (an object, or a CEF line)."""

    seq: int
    id: str
    occurred_at: str
    body: dict[str, Any] | str


def _native(event: dict[str, Any]) -> dict[str, Any]:
    return event


FORMATTERS: dict[str, Callable[[dict[str, Any]], dict[str, Any] | str]] = {
    "native": _native,
    "ocsf": ocsf_event,
    "cef": cef_event,
}


def format_events(fmt: str, events: list[dict[str, Any]]) -> list[Item]:
    formatter = FORMATTERS[fmt]
    return [Item(e["seq"], e["id"], e["occurred_at"], formatter(e)) for e in events]
