"""RFC 8785 (JCS) canonical JSON, with a measured fast path.

``rfc8785.dumps`` is the reference, and alone it would cap ingest below the target
(figures in ``docs/benchmarks.md``). For values where
orjson's sorted output is provably the same bytes (no floats, integers inside
the IEEE-754 safe range, and no character at or above U+E000, so UTF-8 and
UTF-16 key order agree), we use orjson (plus a type walk). A value with
floats is encoded the same way with each float spliced in as the reference's
own encoding of that number (JCS is compositional: every member is serialized
by the same rules wherever it sits), so the reference runs per float, not per
value. ``tests/property/test_canonical.py`` checks with Hypothesis that both
paths agree on arbitrary JSON values.
"""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785

__all__ = [
    "CanonicalizationError",
    "canonical_json",
    "check_exact_numbers",
    "is_float_free",
    "reference_canonical_json",
]

_FLOAT_INT_LIMIT = float(2**63)
_FAST_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
# Every byte but the UTF-8 lead bytes of code points >= U+E000: deleting them leaves
# nothing when no such code point occurs. Below U+E000, UTF-8 byte order, code point
# order and UTF-16 code unit order agree, so orjson's key sort is JCS's key sort.
_BELOW_E000 = bytes(range(0xEE))


class CanonicalizationError(ValueError):
    """The value has no RFC 8785 form (e.g. an integer beyond 2**53)."""


def reference_canonical_json(value: Any) -> bytes:
    """The reference implementation (the ``rfc8785`` package)."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalizationError(str(exc)) from None


def canonical_json(value: Any, *, float_free: bool | None = None) -> bytes:
    """JCS bytes of ``value``: orjson where provably identical, else rfc8785.

    orjson matches JCS for strings, booleans, null and integers within
    ±(2**53 - 1) (enforced by ``OPT_STRICT_INTEGER``) as long as no object key
    needs UTF-16 ordering; each float is encoded by the reference. A caller that
    already knows whether ``value`` holds floats passes ``float_free``."""
    try:
        if is_float_free(value) if float_free is None else float_free:
            encoded = orjson.dumps(value, option=_FAST_OPTIONS)
        else:
            encoded = orjson.dumps(_floats_encoded(value), option=_FAST_OPTIONS)
    except (orjson.JSONEncodeError, CanonicalizationError, RecursionError):
        return reference_canonical_json(value)
    if encoded.isascii() or not encoded.translate(None, _BELOW_E000):
        return encoded
    return reference_canonical_json(value)


def _floats_encoded(value: Any) -> Any:
    """``value`` with every float replaced by its JCS encoding (the reference's), as an
    orjson fragment that orjson writes out verbatim."""
    kind = type(value)
    if kind is float:
        return orjson.Fragment(reference_canonical_json(value))
    if kind is dict:
        return {key: _floats_encoded(item) for key, item in value.items()}
    if kind is list:
        return [_floats_encoded(item) for item in value]
    if kind is str or kind is int or kind is bool or value is None:
        return value
    raise CanonicalizationError(f"{kind.__name__} is not a JSON type")  # the reference judges


def check_exact_numbers(value: Any) -> None:
    """Refuse integral floats of magnitude 2**63 or more: JSON parsers (orjson too)
    turn such integer literals into floats, silently changing the number."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float and abs(item) >= _FLOAT_INT_LIMIT and item.is_integer():
            raise CanonicalizationError(
                f"the number {item:.0f} is too large to keep exactly; send it as a string"
            )


def is_float_free(value: Any) -> bool:
    """True when ``value`` holds only JSON strings, integers, booleans, nulls and containers."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is not str and kind is not int and kind is not bool and item is not None:
            return False
    return True
