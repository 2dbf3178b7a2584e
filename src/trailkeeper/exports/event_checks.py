"""One exported event checked by its own fields: ``pii`` against the personal data and
``pii_salt``, ``leaf_hash`` against the fields (step 4 of :mod:`.checking`, before the
event's place in the file and in the tree is checked)."""

from __future__ import annotations

import re
from itertools import combinations
from typing import Any, cast

from trailkeeper.events.record import leaf_hash, pii_commitment
from trailkeeper.events.view import EventView
from trailkeeper.exports.reading import Entry

__all__ = ["entry_problem", "event_problem"]

_ALTERED_PII = "pii does not match the personal data (actor.name, actor.email, ip or user_agent)"
_SALT = re.compile(r"[0-9a-f]{32}")


def event_problem(view: EventView) -> tuple[bytes | None, str | None]:
    """An event's recomputed leaf hash and what is wrong with it by its own fields, if
    anything: its personal data against ``pii`` (unless erased), its fields against
    ``leaf_hash``."""
    try:
        personal = _pii_problem(view)
        if personal is not None:
            return None, personal
        leaf = leaf_hash(view)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return None, f"the event is malformed ({reason})"
    if view.get("leaf_hash") != leaf.hex():
        return leaf, "leaf_hash does not match its fields (altered)"
    return leaf, None


def _pii_problem(view: EventView) -> str | None:
    actor = view["actor"]
    values = {
        "name": actor.get("name"),
        "email": actor.get("email"),
        "ip": view.get("ip"),
        "user_agent": view.get("user_agent"),
    }
    salt = view.get("pii_salt")
    if salt is None:
        if any(v is not None for v in values.values()):
            return "it has personal data but no pii_salt (an erased event has neither)"
        return None
    if not isinstance(salt, str) or not _SALT.fullmatch(salt):
        return "pii_salt is not 32 lowercase hex digits"
    if pii_commitment(salt, **values) != view.get("pii"):
        return _ALTERED_PII
    return None


def _with_empty(view: EventView, names: tuple[str, ...]) -> EventView:
    """``view`` with the named fields set to ``""`` instead of null (see ``Entry.blanks``)."""
    changed: dict[str, Any] = {**view, "actor": dict(view["actor"])}
    if view.get("resource") is not None:
        changed["resource"] = dict(view["resource"] or {})
    for name in names:
        part, _, key = name.rpartition(".")
        (changed[part] if part else changed)[key] = ""
    # the same shape: "" where a field read as null, which ``str | None`` fields allow
    return cast(EventView, changed)


def entry_problem(entry: Entry) -> tuple[bytes | None, str | None]:
    """Like :func:`event_problem` for an entry read from a file: a line that could not be
    read is its problem, and CSV fields read as null are also tried as ``""``."""
    if entry.view is None or entry.problem is not None:
        return None, entry.problem or "the line cannot be read"
    leaf, problem = event_problem(entry.view)
    if problem is None or not entry.blanks:
        return leaf, problem
    for count in range(1, len(entry.blanks) + 1):
        for names in combinations(entry.blanks, count):
            alt_leaf, alt_problem = event_problem(_with_empty(entry.view, names))
            if alt_problem is None:
                return alt_leaf, None
    return leaf, problem
