"""``canonical_json`` is RFC 8785 byte for byte: the orjson fast path never differs
from the reference ``rfc8785`` package, and fails exactly when the reference does.

Leaf hashes (CONTRACT section 8) are computed from these bytes, so a single
differing byte would make an honest log fail verification."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from profiles import examples
from trailkeeper.events.canonical import (
    CanonicalizationError,
    canonical_json,
    is_float_free,
    reference_canonical_json,
)

SAFE = 2**53 - 1
SPECIAL_CHARS = '\b\f\n\r\t\x00\x01\x1f\x7f\x80"\\/\u2028\u2029\ud7ff\ue000\uffff\U0001f600'

# Every code point but lone surrogates (not UTF-8), with the interesting ones weighted
# up: controls, the U+E000 boundary where UTF-8 and UTF-16 orders part, astral chars.
characters = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(SPECIAL_CHARS),
    st.characters(max_codepoint=0x7F),
    st.characters(min_codepoint=0xD000, max_codepoint=0xFFFF, codec="utf-8"),
    st.characters(min_codepoint=0x10000, codec="utf-8"),
)
texts = st.text(characters, max_size=12)
# Keys from a tiny alphabet around the U+E000 boundary collide in their prefixes often,
# so dictionaries hold keys whose UTF-8 and UTF-16 orders disagree.
BOUNDARY = "a\x7f\ud7ff\ue000\uffff\U00010000\U0001f600"
keys = st.one_of(texts, st.text(st.sampled_from(BOUNDARY), max_size=3))
integers = st.one_of(
    st.integers(min_value=-SAFE, max_value=SAFE),
    st.integers(min_value=SAFE - 3, max_value=SAFE + 3),
    st.integers(min_value=-SAFE - 3, max_value=-SAFE + 3),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, -(2**64)]),
)
floats = st.floats(allow_nan=False, allow_infinity=False)


def json_values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=5),
        ),
        max_leaves=15,
    )


float_free_scalars = st.one_of(st.none(), st.booleans(), integers, texts)
any_scalars = st.one_of(float_free_scalars, floats)

PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def reference_or_error(value: Any) -> bytes | None:
    """``rfc8785.dumps(value)``, or None when the reference refuses the value."""
    try:
        return rfc8785.dumps(value)
    except Exception:  # whatever it raises, canonical_json must raise too
        return None


def assert_same_as_reference(value: Any) -> None:
    expected = reference_or_error(value)
    if expected is None:
        with pytest.raises(CanonicalizationError):
            canonical_json(value)
        with pytest.raises(CanonicalizationError):
            reference_canonical_json(value)
    else:
        assert canonical_json(value) == expected, value
        assert canonical_json(value, float_free=is_float_free(value)) == expected, value


@pytest.mark.slow  # seconds of Hypothesis examples: the full run, not --quick
@settings(PROPERTY, max_examples=examples(2000))
@given(json_values(float_free_scalars))
def test_fast_path_values_match_reference(value: Any) -> None:
    """Float-free values: the ones the orjson fast path may take."""
    assert_same_as_reference(value)


@settings(PROPERTY, max_examples=examples(600))
@given(json_values(any_scalars))
def test_any_json_value_matches_reference(value: Any) -> None:
    assert_same_as_reference(value)


@settings(PROPERTY, max_examples=examples(300))
@given(st.dictionaries(keys, st.none() | st.booleans() | texts, min_size=2, max_size=8))
@example({"\ue000": 1, "\U0001f600": 2})
@example({"\uffff": 1, "\U00010000": 2, "\ud7ff": 3, "a": 4})
def test_key_order_is_utf16(value: dict[str, Any]) -> None:
    """JCS sorts keys by UTF-16 code units; orjson by UTF-8 bytes. They part at U+E000."""
    encoded = canonical_json(value)
    assert encoded == rfc8785.dumps(value)
    keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
    assert encoded.startswith(b'{"' + rfc8785.dumps(keys[0])[1:-1])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("\b", b'"\\b"'),
        ("\f", b'"\\f"'),
        ("\n", b'"\\n"'),
        ("\r", b'"\\r"'),
        ("\t", b'"\\t"'),
        ("\x01", b'"\\u0001"'),
        ("\x1f", b'"\\u001f"'),
        ("\x7f", b'"\x7f"'),
        ("\u2028", b'"\xe2\x80\xa8"'),
        ('"\\/', b'"\\"\\\\/"'),
        ("\U0001f600", b'"\xf0\x9f\x98\x80"'),
        ({"\ue000": 1, "\U0001f600": 2}, b'{"\xf0\x9f\x98\x80":2,"\xee\x80\x80":1}'),
        ({"b": [1, {"z": None, "a": True}], "a": "x"}, b'{"a":"x","b":[1,{"a":true,"z":null}]}'),
        (-0.0, b"0"),
        (1e21, b"1e+21"),
        (1e20, b"100000000000000000000"),
        (5e-324, b"5e-324"),
        (0.1, b"0.1"),
        (1.0, b"1"),
        (SAFE, b"9007199254740991"),
        (-SAFE, b"-9007199254740991"),
        ([SAFE, 0.5], b"[9007199254740991,0.5]"),
    ],
)
def test_known_encodings(value: Any, expected: bytes) -> None:
    assert rfc8785.dumps(value) == expected
    assert canonical_json(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        2**53,
        -(2**53),
        2**64,
        {"n": [2**53]},
        {"n": 2**53, "f": 0.5},
        float("nan"),
        float("inf"),
        "\ud800",
        {"\udfff": 1},
        {1: "non-string key"},
        object(),
    ],
    ids=lambda value: "object()" if type(value) is object else repr(value),  # no address
)
def test_refused_where_the_reference_refuses(value: Any) -> None:
    assert reference_or_error(value) is None
    with pytest.raises(CanonicalizationError):
        canonical_json(value)
