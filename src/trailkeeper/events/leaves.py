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
    loads, dumps, encode, float_free = orjson.loads, orjson.dumps, canonical_json, is_float_free
    sha256, fromhex, thousands = hashlib.sha256, bytes.fromhex, THOUSANDS
    hms = seconds_of_day()
    days_seen: dict[int, str] = {}
    last_received: Any = None
    received_text = ""
    out: list[bytes] = []
    try:
        for (
            id_, seq, action, category, occurred, received,
            actor_id, actor_type, name, email,
            resource_type, resource_id, resource_name,
            source, ip, agent, changes, run, metadata, pii, _leaf, salt,
        ) in rows:  # fmt: skip
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
            days, rest = divmod(occurred, _DAY)
            prefix = days_seen.get(days)
            if prefix is None:
                if len(days_seen) >= _MAX_DAYS:
                    days_seen.clear()
                prefix = days_seen[days] = format_micros(days * _DAY + epoch)[:11]
            second, fraction = divmod(rest, _SECOND)
            millis, micros = divmod(fraction, 1000)
            if received != last_received:
                received_text = format_micros(received + epoch)
                last_received = received
            leaf: dict[str, Any] = {
                "action": action,
                "actor": {"id": actor_id, "type": actor_type},
                "category": category,
                "id": id_,
                "occurred_at": f"{prefix}{hms[second]}{thousands[millis]}{thousands[micros]}Z",
                "pii": pii,
                "received_at": received_text,
                "seq": seq,
                "source": source,
            }
            if changes is not None and (changes := loads(changes)) is not None:
                leaf["changes"] = changes
            if metadata is not None and (metadata := loads(metadata)) is not None:
                leaf["metadata"] = metadata
            if run is not None and (run := loads(run)) is not None:
                leaf["run"] = run
            if resource_type is not None:
                if resource_id is not None and resource_name is not None:
                    leaf["resource"] = {
                        "id": resource_id,
                        "name": resource_name,
                        "type": resource_type,
                    }
                else:
                    leaf["resource"] = {
                        k: v
                        for k, v in (
                            ("id", resource_id),
                            ("name", resource_name),
                            ("type", resource_type),
                        )
                        if v is not None
                    }
            out.append(encode(leaf, float_free=float_free([changes, run, metadata])))
            # pii: the commitment to the personal data (keys inserted in JCS order)
            if salt is None:
                if name is None and email is None and ip is None and agent is None:
                    continue  # erased
                return None
            if email is not None and ip is not None and name is not None and agent is not None:
                personal = {"email": email, "ip": ip, "name": name, "user_agent": agent}
            else:
                personal = {
                    k: v
                    for k, v in (
                        ("email", email),
                        ("ip", ip),
                        ("name", name),
                        ("user_agent", agent),
                    )
                    if v is not None
                }
            for text in personal.values():
                if type(text) is not str:
                    return None  # the reference encodes other kinds its own way
            if sha256(fromhex(salt) + dumps(personal)).hexdigest() != pii:
                return None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # a value trailkeeper never writes: the reference path says what it is
    return out
