"""Pure helpers that turn event views into what templates show: names, badges,
relative times, formatted JSON and old/new tables. Nothing here marks text safe:
templates autoescape every value."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

__all__ = [
    "ChangeLine",
    "ChangeRow",
    "badge",
    "change_rows",
    "compact_json",
    "destination",
    "humanize",
    "pretty_json",
    "quote_path",
    "relative_time",
]

_BADGES = {"web": "web", "api": "api", "mcp": "mcp"}


def humanize(action: str) -> str:
    """``card.moved`` → "Card moved"; the raw action is shown beside it when expanded."""
    words = action.replace("_", " ").replace(".", " ").split()
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def badge(source: str | None) -> str:
    """The CSS class of a source badge: web blue, api purple, mcp amber, others grey."""
    return "badge-" + _BADGES.get(source or "", "other")


def relative_time(stamp: str, now: datetime | None = None) -> str:
    """ "3 min ago" for a contract timestamp (``YYYY-MM-DDTHH:MM:SS.ffffffZ``)."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 0:
        return "just now"
    for size, unit in ((86400 * 365, "y"), (86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def pretty_json(value: Any) -> str:
    """Indented JSON text (shown as text, escaped by the template)."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def compact_json(value: Any) -> str:
    """One-line JSON text (shown as text, escaped by the template)."""
    return orjson.dumps(value).decode()


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode() if not isinstance(value, dict) else pretty_json(value)


@dataclass(frozen=True, slots=True)
class ChangeLine:
    mark: str  # "same", "removed", "added" or "changed"
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class ChangeRow:
    field: str
    old: str
    new: str
    lines: tuple[ChangeLine, ...]
    """Set when old and new are both lists: one line per item, diffed."""


def _list_lines(old: list[Any], new: list[Any]) -> tuple[ChangeLine, ...]:
    a = [_text(v) for v in old]
    b = [_text(v) for v in new]
    lines: list[ChangeLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            lines.extend(ChangeLine("same", x, x) for x in a[i1:i2])
            continue
        olds, news = a[i1:i2], b[j1:j2]
        for k in range(max(len(olds), len(news))):
            o = olds[k] if k < len(olds) else ""
            n = news[k] if k < len(news) else ""
            mark = "changed" if o and n else ("removed" if o else "added")
            lines.append(ChangeLine(mark, o, n))
    return tuple(lines)


def change_rows(changes: Any) -> list[ChangeRow]:
    """``changes`` as old/new rows; lists (such as token abilities) diffed line by line."""
    if not isinstance(changes, list):
        return []
    rows = []
    for change in changes:
        if not isinstance(change, dict):
            continue
        old, new = change.get("old"), change.get("new")
        lines = _list_lines(old, new) if isinstance(old, list) and isinstance(new, list) else ()
        rows.append(ChangeRow(str(change.get("field", "")), _text(old), _text(new), lines))
    return rows


def quote_path(value: Any) -> str:
    """A value as one URL path segment (``/`` included)."""
    return quote(str(value), safe="")


def _public_url(value: Any) -> str:
    """A destination URL without what may be a credential: the ``user:password@`` part,
    the query and the fragment (``?…`` says something was left out)."""
    text = str(value)
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(not shown: not a URL)"
    if not parts.scheme or not host:
        return "(not shown: not a URL)"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    hidden = "?…" if parts.query or parts.fragment else ""
    return f"{parts.scheme}://{netloc}{parts.path}{hidden}"


def destination(kind: str, config: dict[str, Any]) -> str:
    """Where a stream delivers, in one line. Built from the settings that are not
    secret (secrets are never in a stream's view); URLs lose their credentials."""
    if kind == "s3":
        where = f"s3://{config.get('bucket', '')}/{config.get('prefix', '')}"
        endpoint = config.get("endpoint_url")
        return f"{where} at {_public_url(endpoint)}" if endpoint else where
    if kind == "syslog":
        return f"{config.get('protocol', '')}://{config.get('host', '')}:{config.get('port', '')}"
    if kind == "azure_monitor":
        return f"{_public_url(config.get('endpoint', ''))} · {config.get('stream_name', '')}"
    where = _public_url(config.get("url", ""))
    index = config.get("index")
    return f"{where} · index {index}" if index else where
