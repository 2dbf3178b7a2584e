"""JSON texts (a request body, a line of an ingest file) to values, refused early and by name.

Three limits keep what a text costs to parse a small multiple of its size, and keep the
parsed value the one the producer meant:

- at most ``MAX_JSON_VALUES`` values (objects, arrays, keys, strings, numbers, literals),
  counted *before* parsing from the punctuation that separates them (a few ``bytes.count``
  passes; an exact count, outside strings, only when that upper bound is over). A 10 MiB
  body of tiny nested objects would otherwise become ~30 times its size in Python objects;
- at most ``MAX_DEPTH`` levels of nesting (what the canonical encoder can write);
- no key twice in one object. Parsers keep the last value, so the stored (and hashed)
  event would silently differ from what other readers of the same bytes see. Detected
  exactly and cheaply: every ``:`` of a JSON text either ends a key or sits in a string,
  so a text without ``\\u003a`` escapes holds as many ``:`` as its compact re-encoding
  exactly when no key was dropped. Only when the counts differ (or such an escape exists)
  is the text parsed again, slowly, to name the key.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

import orjson

from trailkeeper import speedups
from trailkeeper.errors import InvalidRequest

__all__ = ["GZIP_MAGIC", "MAX_DEPTH", "MAX_JSON_VALUES", "parse_json"]

MAX_DEPTH = 254
MAX_JSON_VALUES = 500_000
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_NOT_PUNCTUATION = bytes(b for b in range(256) if b not in b",:{[")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_byte_counts = speedups.byte_counts
_DEPTH_MESSAGE = (
    "{what} nests objects and arrays more than {limit} levels deep; at most {limit} are allowed"
)


def parse_json(text: bytes, what: str = "The request body") -> Any:
    """The value of ``text``; ``InvalidRequest`` naming the problem otherwise.

    ``what`` starts each message ("The request body", "Line 12")."""
    if text[:2] == GZIP_MAGIC:
        raise InvalidRequest(
            f"{what} is gzip-compressed but the request has no 'Content-Encoding: gzip' "
            "header; add the header, or send the JSON uncompressed"
        )
    counted = _counted(text)
    _check_value_count(text, what, counted.punctuation)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):
            raise InvalidRequest(_DEPTH_MESSAGE.format(what=what, limit=MAX_DEPTH)) from None
        raise InvalidRequest(f"{what} is not valid JSON: {exc}") from None
    try:
        compact = orjson.dumps(value)
    except orjson.JSONEncodeError:  # orjson writes at most 254 levels
        raise InvalidRequest(_DEPTH_MESSAGE.format(what=what, limit=MAX_DEPTH)) from None
    if _colons(compact) != counted.colons or counted.escapes:
        _refuse_duplicate_keys(text, what)
    return value


class _Counted(NamedTuple):
    punctuation: int | None
    """The bytes among ``,:{[``; None when not counted yet (:func:`_check_value_count`
    counts them where it needs them)."""
    colons: int
    escapes: bool
    """Whether a ``\\u003`` escape appears (it may write a ``:``)."""


def _counted(text: bytes) -> _Counted:
    """What :func:`parse_json` reads off the bytes of ``text``: in one pass by the C
    module where it is there, else by three of Python's byte methods (the reference)."""
    if _byte_counts is not None and type(text) is bytes:
        return _Counted(*_byte_counts(text))
    return _Counted(None, text.count(b":"), b"\\u003" in text)


def _colons(data: bytes) -> int:
    return data.count(b":") if _byte_counts is None else _byte_counts(data)[1]


def _check_value_count(text: bytes, what: str, punctuation: int | None) -> None:
    """Refuse more than ``MAX_JSON_VALUES`` values without building any of them.

    Each value but the first follows a ``,``, a ``:`` or an opening bracket, so their
    count bounds the values. Punctuation inside strings only over-counts; it is taken out
    (exactly, one string at a time) only for a text that the quick bound does not clear,
    and only when that text does not already hold too many strings (each one a value).
    ``punctuation`` is that count when already made."""
    if len(text) < MAX_JSON_VALUES:  # at most one punctuation byte each
        return
    quick = (_punctuation_total(text) if punctuation is None else punctuation) + 1
    if quick <= MAX_JSON_VALUES:
        return
    quotes = text.count(b'"') - text.count(b'\\"')  # escaped quotes are not delimiters
    if quotes // 2 <= MAX_JSON_VALUES:
        inside = sum(_punctuation(text, m.start(), m.end()) for m in _STRING.finditer(text))
        if quick - inside <= MAX_JSON_VALUES:
            return
    raise InvalidRequest(
        f"{what} holds more than {MAX_JSON_VALUES:,} JSON values (objects, arrays, keys, "
        "strings, numbers); send fewer events per request, or flatten deeply nested metadata"
    )


def _punctuation_total(text: bytes) -> int:
    """``_punctuation(text, 0, len(text))`` in one pass rather than four, a MiB at a time
    (what is left of each MiB is a copy)."""
    return sum(
        len(text[at : at + _CHUNK].translate(None, _NOT_PUNCTUATION))
        for at in range(0, len(text), _CHUNK)
    )


def _punctuation(text: bytes, start: int, end: int) -> int:
    return (
        text.count(b",", start, end)
        + text.count(b":", start, end)
        + text.count(b"{", start, end)
        + text.count(b"[", start, end)
    )


class _Duplicate(Exception):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return value


def _refuse_duplicate_keys(text: bytes, what: str) -> None:
    try:
        json.loads(text, object_pairs_hook=_unique)
    except ValueError:  # an integer too long for int(): such events are refused anyway
        return
    except _Duplicate as exc:
        key = str(exc.args[0])[:64]
        raise InvalidRequest(
            f"{what} holds the key {key!r} twice in one object; each key may appear once "
            "(parsers disagree on which value wins)"
        ) from None
