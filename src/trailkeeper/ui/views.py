"""Pure helpers that turn event views into what templates show: names, badges,
relative times, formatted JSON and old/new tables. Nothing here marks text safe:
templates autoescape every value."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

__all__ = [
    "ChangeLine",
    "ChangeRow",
    "badge",
    "change_rows",
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
