"""ArcSight CEF for syslog streams, with CEF's escaping rules.

Header fields escape ``\\`` and ``|``; extension values escape ``\\`` and ``=`` and
write line breaks as ``\\n`` / ``\\r``, so one event is always one line. The keys
are CEF's predefined ones; what has none goes in the labelled custom strings
``cs1``…``cs6``."""

from __future__ import annotations

import ipaddress
from typing import Any

import orjson

from trailkeeper import __version__
from trailkeeper.events.view import EventView, ResourceView
from trailkeeper.streams.ocsf import epoch_ms

__all__ = ["cef_event", "escape_extension", "escape_header"]

SEVERITY = 3  # informational-to-low on CEF's 0-10 scale: a record, not an alert


def escape_header(text: str) -> str:
    flat = text.replace("\r", " ").replace("\n", " ")
    return flat.replace("\\", "\\\\").replace("|", "\\|")


def escape_extension(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _address(ip: str | None) -> list[tuple[str, str | None]]:
    if ip is None:
        return []
    if ipaddress.ip_address(ip).version == 4:
        return [("src", ip)]
    return [("c6a2", ip), ("c6a2Label", "Source IPv6 Address")]


def cef_event(event: EventView) -> str:
    """One CEF line for the event as the API returns it."""
    actor = event["actor"]
    resource: ResourceView | dict[str, str] = event.get("resource") or {}
    pairs: list[tuple[str, str | None]] = [
        ("rt", str(epoch_ms(event["occurred_at"]))),
        ("externalId", event["id"]),
        ("act", event["action"]),
        ("cat", event.get("category")),
        ("suid", actor.get("id")),
        ("suser", actor.get("name") or actor.get("email")),
        *_address(event.get("ip")),
        ("requestClientApplication", event.get("user_agent")),
        ("cs1Label", "resourceType"), ("cs1", resource.get("type")),
        ("cs2Label", "resourceId"), ("cs2", resource.get("id")),
        ("cs3Label", "resourceName"), ("cs3", resource.get("name")),
        ("cs4Label", "source"), ("cs4", event.get("source")),
        ("cs5Label", "changes"), ("cs5", _json(event.get("changes"))),
        ("cs6Label", "metadata"), ("cs6", _json(event.get("metadata"))),
        ("cn1Label", "seq"), ("cn1", None if event.get("seq") is None else str(event["seq"])),
    ]  # fmt: skip
    extension = " ".join(f"{k}={escape_extension(v)}" for k, v in pairs if v is not None)
    header = "|".join(
        escape_header(part)
        for part in ("trailkeeper", "trailkeeper", __version__, event["action"], event["action"])
    )
    return f"CEF:0|{header}|{SEVERITY}|{extension}"
