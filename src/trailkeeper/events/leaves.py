"""Leaf bytes and pii checks straight from stored rows: ``verify``'s hot loop.

``leaf_bytes(view_from_row(row))`` builds the API view (two datetimes, nested dicts) and then
picks the leaf's fields out of it again. :func:`encode_rows` builds the same leaf object
straight from the raw row tuple — timestamps, stored as integer microseconds, formatted from
a day-prefix cache and a table of the day's seconds — and encodes it with the same
:func:`~trailkeeper.events.canonical.canonical_json` call, so the bytes are the reference's
as long as the object and the timestamps are. It answers only for rows whose personal data
matches their ``pii`` commitment and whose values are of the kinds trailkeeper writes; for
any other row it answers None, and the caller checks the rows the reference way.
The same loop written in C (:mod:`trailkeeper.speedups`) answers first; where it declines,
the Python loop answers. ``tests/property/test_leaves.py`` checks with Hypothesis that every
answer of either equals the reference's bytes, and that the C loop's is the Python loop's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from trailkeeper import speedups
from trailkeeper.events.canonical import canonical_json, is_float_free
from trailkeeper.events.timestamps import format_micros
from trailkeeper.rowlayout import ROW_COLUMNS

__all__ = ["ROW_COLUMNS", "encode_rows", "encode_rows_python", "seconds_of_day"]

_native_encode_rows = speedups.encode_rows

_DAY = 86_400_000_000
_SECOND = 1_000_000
_MAX_DAYS = 4096
_hms: list[str] = []
THOUSANDS = [f"{n:03d}" for n in range(1000)]
"""``"000"`` to ``"999"``: a microsecond fraction as two table lookups."""


def clock_texts() -> Iterator[str]:
    """``"HH:MM:SS."`` for each second of a day, in order."""
    return (f"{h:02d}:{m:02d}:{s:02d}." for h in range(24) for m in range(60) for s in range(60))


def seconds_of_day() -> list[str]:
    """:func:`clock_texts` as a list (built once per process: ~5 MB)."""
    if not _hms:
        _hms.extend(clock_texts())
    return _hms


def encode_rows(rows: Sequence[Sequence[Any]], epoch: int = 0) -> list[bytes] | None:
    """:func:`encode_rows_python`'s answer, from the C loop where it gives one."""
    if epoch % _DAY:
        raise ValueError(f"the epoch must be a whole number of days, not {epoch} µs")
    if _native_encode_rows is not None:
        encoded = _native_encode_rows(rows, epoch, orjson.loads, bytes.fromhex, hashlib.sha256)
        if encoded is not None:
            return encoded
    return encode_rows_python(rows, epoch)


def encode_rows_python(rows: Sequence[Sequence[Any]], epoch: int = 0) -> list[bytes] | None:
    """``L`` (CONTRACT section 8) of each raw row (:data:`ROW_COLUMNS`), or None as soon as
    one row's personal data does not match its ``pii`` commitment or holds a value the
    reference path must judge (a missing required field, a value of another type, a part
    that is not JSON): then the caller checks the rows one by one.

    ``epoch``: where the rows' timestamps count from, in microseconds since 1970 (a whole
    number of days: it only moves the day, whose text is cached)."""
    if epoch % _DAY:
        raise ValueError(f"the epoch must be a whole number of days, not {epoch} µs")
    clock = _Clock(epoch)
    out: list[bytes] = []
    try:
        for row in rows:
            leaf = _leaf(row, clock)
            if leaf is None or not _pii_matches(row):
                return None
            out.append(canonical_json(leaf[0], float_free=leaf[1]))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # a value trailkeeper never writes: the reference path says what it is
    return out


class _Clock:
    """A batch's timestamps as the API's text: each day's prefix formatted once, the
    seconds of the day and the microsecond digits from tables, and a received time that
    repeats (one ingest batch) formatted once."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.hms = seconds_of_day()
        self.days: dict[int, str] = {}
        self.last_received: int | None = None
        self.received_text = ""

    def occurred(self, micros: int) -> str:
        days, rest = divmod(micros, _DAY)
        prefix = self.days.get(days)
        if prefix is None:
            if len(self.days) >= _MAX_DAYS:
                self.days.clear()
            prefix = self.days[days] = format_micros(days * _DAY + self.epoch)[:11]
        second, fraction = divmod(rest, _SECOND)
        millis, micros = divmod(fraction, 1000)
        return f"{prefix}{self.hms[second]}{THOUSANDS[millis]}{THOUSANDS[micros]}Z"

    def received(self, micros: int) -> str:
        if micros != self.last_received:
            self.received_text = format_micros(micros + self.epoch)
            self.last_received = micros
        return self.received_text


def _leaf(row: Sequence[Any], clock: _Clock) -> tuple[dict[str, Any], bool] | None:
    """The leaf object of a row (keys inserted in JCS order) and whether it is float-free;
    None for a row without the texts and integers every leaf holds."""
    (
        id_, seq, action, category, occurred, received, actor_id, actor_type, _name, _email,
        resource_type, resource_id, resource_name, source, _ip, _agent, changes, run, metadata,
        pii, _leaf_hash, _salt,
    ) = row  # fmt: skip
    if not (
        type(seq) is int
        and type(received) is int
        and type(id_) is str
        and type(action) is str
        and type(category) is str
        and type(source) is str
        and type(actor_id) is str
        and type(actor_type) is str
        and type(pii) is str
    ):
        return None
    leaf: dict[str, Any] = {
        "action": action,
        "actor": {"id": actor_id, "type": actor_type},
        "category": category,
        "id": id_,
        "occurred_at": clock.occurred(occurred),
        "pii": pii,
        "received_at": clock.received(received),
        "seq": seq,
        "source": source,
    }
    if changes is not None and (changes := orjson.loads(changes)) is not None:
        leaf["changes"] = changes
    if metadata is not None and (metadata := orjson.loads(metadata)) is not None:
        leaf["metadata"] = metadata
    if run is not None and (run := orjson.loads(run)) is not None:
        leaf["run"] = run
    if resource_type is not None:
        leaf["resource"] = _present(
            ("id", resource_id), ("name", resource_name), ("type", resource_type)
        )
    return leaf, is_float_free([changes, run, metadata])


def _present(*pairs: tuple[str, Any]) -> dict[str, Any]:
    """An object of the pairs whose value is not None (given in JCS order)."""
    return {key: value for key, value in pairs if value is not None}


_NAME, _EMAIL, _IP, _AGENT, _PII, _SALT = (
    ROW_COLUMNS.index(name)
    for name in ("actor_name", "actor_email", "ip", "user_agent", "pii", "pii_salt")
)


def _pii_matches(row: Sequence[Any]) -> bool:
    """Whether the row's personal data is what its ``pii`` commits to (salted SHA-256 of
    the JCS object of the values present), or erased (no values, no salt)."""
    salt, name, email, ip, agent = row[_SALT], row[_NAME], row[_EMAIL], row[_IP], row[_AGENT]
    if salt is None:
        return name is None and email is None and ip is None and agent is None
    if email is not None and ip is not None and name is not None and agent is not None:
        personal = {"email": email, "ip": ip, "name": name, "user_agent": agent}
    else:
        personal = _present(("email", email), ("ip", ip), ("name", name), ("user_agent", agent))
    if any(type(text) is not str for text in personal.values()):
        return False  # the reference encodes other kinds its own way
    digest = hashlib.sha256(bytes.fromhex(salt) + orjson.dumps(personal)).hexdigest()
    return bool(digest == row[_PII])
