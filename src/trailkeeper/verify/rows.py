"""A stored row as ``verify`` reads it, and what its own fields say about it.

Rows are named tuples: :class:`StoredRow` (the API view, the decoded ``pii_salt`` and why
that salt could not be decoded, if it could not) and :class:`CheckedRow` (the same with the
leaf hash recomputed from the fields and what is wrong with the row's personal data)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from trailkeeper.events.canonical import is_float_free
from trailkeeper.events.record import leaf_hash, pii_commitment
from trailkeeper.events.timestamps import format_micros
from trailkeeper.events.view import EventView
from trailkeeper.storage.rows import view_from_row

__all__ = [
    "CheckedRow",
    "GuardedRows",
    "Recomputed",
    "StoredRow",
    "check_rows",
    "describe",
    "gap",
    "pii_problem",
    "recompute",
    "recompute_leaf",
    "stored_row",
    "stored_rows",
]


class StoredRow(NamedTuple):
    view: EventView
    salt: bytes | None
    salt_problem: str | None = None
    """Why the stored ``pii_salt`` is not a salt trailkeeper writes (hex text), if so."""


class Recomputed(NamedTuple):
    leaf: bytes | None
    """The leaf hash recomputed from the fields; None when they cannot be encoded."""
    error: str | None
    """Why the fields cannot be encoded."""
    personal: str | None
    """What is wrong with the row's personal data or its ``pii`` commitment."""


class CheckedRow(NamedTuple):
    view: EventView
    leaf: bytes | None
    error: str | None
    personal: str | None


def _salt(value: Any) -> tuple[bytes | None, str | None]:
    """The ``pii_salt`` column decoded, or why it cannot be (a column changed behind
    trailkeeper's back may hold any type: the row is named, not the Python error)."""
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, (
            f"its pii_salt column holds {type(value).__name__} data, not the hex text "
            "trailkeeper writes, so its pii commitment cannot be checked"
        )
    try:
        return bytes.fromhex(value), None
    except ValueError:
        return None, (
            "its pii_salt column is not hex text, so its pii commitment cannot be checked"
        )


def stored_row(row: Sequence[Any]) -> StoredRow:
    """The view and decoded salt of a raw row (:data:`~trailkeeper.events.leaves.ROW_COLUMNS`);
    ``ValueError`` and friends when an event column holds what trailkeeper never writes."""
    salt, problem = _salt(row[-1])
    return StoredRow(view_from_row(row[:-1], format_micros), salt, problem)


def stored_rows(rows: Iterator[tuple[Any, ...]]) -> Iterator[StoredRow]:
    try:
        for row in rows:
            yield stored_row(row)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


class GuardedRows:
    """Rows, stopping (and keeping the error) where one cannot be decoded."""

    def __init__(self, rows: Iterator[StoredRow]) -> None:
        self._rows = rows
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[StoredRow]:
        rows = self._rows
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
                self.error = exc
                return
            yield row

    def close(self) -> None:
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()


def _float_free(view: EventView) -> bool:
    """Whether the leaf object holds no float, without walking all of it: every other part
    of a view comes from a text column (or is formatted to text), except ``seq``."""
    return type(view["seq"]) is int and is_float_free(
        [view["changes"], view["run"], view["metadata"]]
    )


def recompute_leaf(view: EventView) -> bytes:
    """The leaf hash of a stored row, from its fields (CONTRACT section 8)."""
    return leaf_hash(view, float_free=_float_free(view))


def pii_problem(view: EventView, salt: bytes | None) -> str | None:
    """Why the row's personal data does not match its ``pii`` commitment, or None."""
    actor = view["actor"]
    name, email, ip, agent = actor["name"], actor["email"], view["ip"], view["user_agent"]
    if salt is None:
        if name is None and email is None and ip is None and agent is None:
            return None  # erased: nothing left to check, the commitment stays in the leaf
        return "it carries personal data but no pii_salt, so its pii commitment cannot hold"
    try:
        expected = pii_commitment(salt.hex(), name=name, email=email, ip=ip, user_agent=agent)
    except Exception as exc:  # a tampered column may hold anything
        return f"its personal data cannot be encoded ({exc})"
    if expected != view["pii"]:
        return (
            "its personal data (actor.name, actor.email, ip, user_agent) no longer matches "
            "its pii commitment"
        )
    return None


def recompute(view: EventView, salt: bytes | None, salt_problem: str | None = None) -> Recomputed:
    """Everything a row's own fields say about it: its leaf hash (None with the reason when
    it cannot be computed) and what, if anything, is wrong with its personal data."""
    try:
        leaf: bytes | None = recompute_leaf(view)
        error = None
    except Exception as exc:  # a tampered column may hold anything
        leaf, error = None, f"{type(exc).__name__}: {exc}"
    if salt_problem is not None:
        return Recomputed(leaf, error, salt_problem)
    try:
        personal = pii_problem(view, salt)
    except Exception as exc:
        personal = f"its personal data cannot be read ({type(exc).__name__}: {exc})"
    return Recomputed(leaf, error, personal)


def check_rows(rows: Iterable[StoredRow | tuple[EventView, bytes | None]]) -> Iterator[CheckedRow]:
    """Each row with what its fields say (a plain ``(view, salt)`` pair is taken too)."""
    for row in rows:
        yield CheckedRow(row[0], *recompute(*row))


def describe(view: EventView) -> str:
    event_id = view.get("id")
    return f"id {event_id!r}" if event_id is not None else "no id"


def gap(first: int, end: int) -> str:
    count = end - first
    return f"seq {first} is" if count == 1 else f"seqs {first}..{end - 1} ({count:,} rows) are"
