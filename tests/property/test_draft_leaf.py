"""Ingest's pii commitment and leaf pieces from the C encoder are the Python path's.

``draft_leaf`` answers from ``trailkeeper._native`` (the canonical encoder ``verify`` uses)
where it can and from ``draft_leaf_python`` otherwise. Whenever the C function answers, the
answer must be the Python path's byte for byte, and where the Python path refuses the event
(an integral float beyond 2**63) the C function must decline rather than answer. Values are
drawn wide: floats of every kind, integers at and past 2**53, keys around U+E000 (where JCS's
UTF-16 order may differ from code point order), escapes, empty and nested containers."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from jcs_strategies import keys, texts
from profiles import examples
from support import needs_native
from trailkeeper.events.canonical import CanonicalizationError
from trailkeeper.events.record import LeafFields, draft_leaf, draft_leaf_python

PROPERTY = settings(
    deadline=None,
    max_examples=examples(1500),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SAFE = 2**53 - 1
SALT = bytes(range(16))

numbers = st.one_of(
    st.integers(min_value=-SAFE, max_value=SAFE),
    st.sampled_from([SAFE, 2**53, -(2**53), 2**63, 2**64, 10**20]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([2.0**63, -(2.0**63), 1e20, 2.0**63 - 1024, 0.5, -0.0, 5e-324, 1e21]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, texts),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=10,
)
optional_texts = st.one_of(st.none(), texts)
changes = st.one_of(
    st.none(),
    st.lists(st.fixed_dictionaries({"field": texts, "old": json_values, "new": json_values})),
)
runs = st.one_of(st.none(), st.dictionaries(keys, json_values, min_size=1, max_size=4))
metadata = st.one_of(st.none(), st.dictionaries(keys, json_values, max_size=4))


@st.composite
def leaf_fields(draw: st.DrawFn) -> LeafFields:
    resource_type = draw(optional_texts)
    resource_id, resource_name = (None, None)
    if resource_type is not None:
        resource_id, resource_name = draw(texts), draw(optional_texts)
    return (
        draw(texts), draw(texts), draw(texts), draw(optional_texts), draw(optional_texts),
        draw(texts), draw(changes), draw(texts), draw(metadata), draw(texts),
        draw(optional_texts), draw(optional_texts), resource_type, resource_id, resource_name,
        draw(runs), draw(texts),
    )  # fmt: skip


def python_answer(salt: bytes, fields: LeafFields) -> Any:
    try:
        return draft_leaf_python(salt, fields)
    except CanonicalizationError as exc:
        return exc


def native_answer(salt: bytes, fields: LeafFields) -> Any:
    from trailkeeper._native import draft_leaf as c_draft_leaf

    return c_draft_leaf(salt, hashlib.sha256, *fields)


PLAIN: LeafFields = (
    "card.moved", "u_1", "user", "Ana", None, "card", [{"field": "phase", "old": "a", "new": 1.5}],
    "e1", {"k": [1, True, None]}, "2026-11-20T13:45:12.123000Z", "10.0.0.1", None,
    "pipe", "p1", None, {"id": "r1", "duration_ms": 3}, "web",
)  # fmt: skip


@needs_native
@PROPERTY
@given(st.binary(min_size=16, max_size=16), leaf_fields())
@example(SALT, PLAIN)
@example(SALT, (*PLAIN[:8], {"big": 2.0**63}, *PLAIN[9:]))
@example(SALT, (*PLAIN[:8], {"\ue000": 1, "\U0001f600": 2}, *PLAIN[9:]))
def test_every_c_answer_is_the_python_paths(salt: bytes, fields: LeafFields) -> None:
    native = native_answer(salt, fields)
    python = python_answer(salt, fields)
    event("answered" if native is not None else "declined")
    if native is None:
        return
    assert not isinstance(python, Exception), (fields, python)
    assert native == python


@needs_native
def test_c_answers_plain_events_and_declines_what_ingest_refuses() -> None:
    assert native_answer(SALT, PLAIN) is not None
    refused = (*PLAIN[:8], {"big": -(2.0**63)}, *PLAIN[9:])
    assert native_answer(SALT, refused) is None
    with pytest.raises(CanonicalizationError, match="too large to keep exactly"):
        draft_leaf(SALT, refused)


def test_the_pieces_join_into_rfc8785_of_the_leaf() -> None:
    pii, (head, middle, tail) = draft_leaf(SALT, PLAIN)
    joined = head + b'"2026-11-20T13:45:13.000000Z"' + middle + b"42" + tail
    leaf = {
        "action": "card.moved", "actor": {"id": "u_1", "type": "user"}, "category": "card",
        "changes": PLAIN[6], "id": "e1", "metadata": PLAIN[8], "occurred_at": PLAIN[9],
        "pii": pii, "received_at": "2026-11-20T13:45:13.000000Z",
        "resource": {"id": "p1", "type": "pipe"}, "run": PLAIN[15], "seq": 42, "source": "web",
    }  # fmt: skip
    assert joined == b"\x00" + rfc8785.dumps(leaf)
    personal = rfc8785.dumps({"ip": "10.0.0.1", "name": "Ana"})
    assert pii == hashlib.sha256(SALT + personal).hexdigest()
