"""RFC 8785 (JCS) canonical JSON, with a measured fast path.

``rfc8785.dumps`` is the reference. It costs ~65 µs for a typical event, which
alone would cap ingest near 15,000 events/s on one core. For values where
orjson's sorted output is provably the same bytes (no floats, integers inside
the IEEE-754 safe range, and no object key whose UTF-8 order could differ from
its UTF-16 order), we use orjson (~1 µs). ``tests/property/test_canonical.py``
checks with Hypothesis that both paths agree on arbitrary JSON values.
"""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785

__all__ = ["CanonicalizationError", "canonical_json", "reference_canonical_json"]

_SAFE_INT = 2**53 - 1
# Keys with code points at or above U+E000 may sort differently in UTF-8 (orjson)
# and UTF-16 (JCS) when supplementary characters are also present.
_KEY_ORDER_LIMIT = "\ue000"


class CanonicalizationError(ValueError):
    """The value has no RFC 8785 form (e.g. an integer beyond 2**53)."""


def reference_canonical_json(value: Any) -> bytes:
    """The reference implementation (the ``rfc8785`` package)."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalizationError(str(exc)) from None


def canonical_json(value: Any) -> bytes:
    """JCS bytes of ``value``: orjson where provably identical, else rfc8785."""
    if _fast_path_safe(value):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return reference_canonical_json(value)


def _fast_path_safe(value: Any) -> bool:
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return bool(-_SAFE_INT <= value <= _SAFE_INT)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (key and max(key) >= _KEY_ORDER_LIMIT):
                return False
            if not _fast_path_safe(item):
                return False
        return True
    if kind is list:
        return all(_fast_path_safe(item) for item in value)
    return False
