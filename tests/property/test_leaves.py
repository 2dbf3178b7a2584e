"""``encode_rows`` (verify's fast path) gives the reference's leaf bytes, byte for byte.

The reference is what ``verify`` checks a row with otherwise: the row turned into the API view
(``view_from_row``), its leaf from ``recompute`` (``leaf_bytes`` over ``canonical_json``) and
its pii from ``pii_problem``. Whenever the fast path answers for a row, the row must be one
the reference finds consistent (its pii holds) and the bytes must be the reference's and
RFC 8785's. Rows are generated the way the stores return them: text columns as str (or bytes
for a blob, or None), integers for seq and timestamps, free-form parts as any JSON text
(floats, huge integers, keys around U+E000, escapes), or text that is not JSON at all.

``encode_rows`` answers from the C loop (``trailkeeper._native``) where it can, else from the
Python loop (``encode_rows_python``): both are checked against the reference, and the C
loop's every answer against the Python loop's."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sysconfig
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jcs_strategies import keys, texts
from profiles import examples
from support import make_event, needs_native
from trailkeeper import speedups
from trailkeeper.events.batch import drafts_from_events
from trailkeeper.events.canonical import canonical_json
from trailkeeper.events.leaves import ROW_COLUMNS, encode_rows, encode_rows_python
from trailkeeper.events.record import pii_commitment
from trailkeeper.storage.rows import scanned_view
from trailkeeper.verify import recompute

PROPERTY = settings(
    deadline=None,
    max_examples=examples(1500),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MIN_MICROS = -62135596800 * 10**6  # 0001-01-01
MAX_MICROS = 253402300799999999  # 9999-12-31T23:59:59.999999
SAFE = 2**53 - 1
PG_EPOCH = 946_684_800_000_000  # 2000-01-01, where PostgreSQL's timestamps count from


def mostly(good: st.SearchStrategy[Any], *bad: Any) -> st.SearchStrategy[Any]:
    """Mostly ``good``; now and then one of ``bad`` (values a tampered row holds)."""
    return st.integers(0, 15).flatmap(lambda n: st.sampled_from(bad) if n == 7 else good)


optional_texts = mostly(st.one_of(st.none(), texts), b"blob")
numbers = st.one_of(
    st.integers(min_value=-SAFE, max_value=SAFE),
    st.sampled_from([SAFE, 2**53, 2**63, 2**64, -(2**64), 10**20]),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, texts),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=10,
)


def _json_text(value: Any) -> str:
    """As ingest writes it (orjson), or as Python does where orjson cannot (beyond 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False)


part_texts = mostly(
    st.one_of(
        st.none(),
        json_values.map(_json_text),
        json_values.map(lambda value: json.dumps(value, indent=1)),  # whitespace, \\u escapes
    ),
    "null",
    "1.0",
    "1e5",
    "12345678901234567890",
    '{"a":1',
    "",
    " {}",
    b"{}",
    b"\xff",
)


micros = mostly(
    st.integers(min_value=MIN_MICROS, max_value=MAX_MICROS),
    MIN_MICROS - 1,
    MAX_MICROS + 1,
    0,
    -1,
    1.5,
    float(MAX_MICROS),
    2**70,
)


@st.composite
def raw_rows(draw: st.DrawFn) -> tuple[Any, ...]:
    """A raw row; most have a salt and a pii that match their personal data."""
    name, email, ip, agent = (draw(optional_texts) for _ in range(4))
    salt = draw(mostly(st.binary(min_size=16, max_size=16).map(bytes.hex), None))
    pii: Any
    try:
        pii = pii_commitment(salt or "", name=name, email=email, ip=ip, user_agent=agent)
    except Exception:
        pii = "00" * 32
    pii = draw(mostly(st.just(pii), "ab" * 32, None))
    if salt is not None:
        salt = draw(mostly(st.just(salt), "zz", "", salt.upper()))
    row = {
        "id": draw(mostly(texts, None, b"id")),
        "seq": draw(mostly(st.integers(0, SAFE), 2.0, SAFE + 1, -1)),
        "action": draw(texts),
        "category": draw(texts),
        "occurred_at": draw(micros),
        "received_at": draw(micros),
        "actor_id": draw(texts),
        "actor_type": draw(mostly(texts, None)),
        "actor_name": name,
        "actor_email": email,
        "resource_type": draw(st.one_of(st.none(), texts)),
        "resource_id": draw(optional_texts),
        "resource_name": draw(optional_texts),
        "source": draw(texts),
        "ip": ip,
        "user_agent": agent,
        "changes": draw(part_texts),
        "run": draw(part_texts),
        "metadata": draw(part_texts),
        "pii": pii,
        "leaf_hash": b"\x00" * 32,
        "pii_salt": salt,
    }
    return tuple(row[column] for column in ROW_COLUMNS)


Encoder = Callable[[Sequence[Sequence[Any]]], list[bytes] | None]


def native(rows: Sequence[Sequence[Any]], epoch: int = 0) -> list[bytes] | None:
    """The C loop alone (None where it declines)."""
    from trailkeeper._native import encode_rows as c_encode_rows

    return c_encode_rows(rows, epoch, orjson.loads, bytes.fromhex, hashlib.sha256)


ENCODERS = [
    pytest.param(encode_rows, id="encode_rows"),
    pytest.param(encode_rows_python, id="python"),
]


def assert_reference_agrees(
    rows: list[tuple[Any, ...]], *, count: bool = False, encoder: Encoder = encode_rows
) -> None:
    encoded = encoder(rows)
    if count:
        event("answered" if encoded is not None else "no answer")
    if encoded is None:
        return
    assert len(encoded) == len(rows)
    for row, leaf in zip(rows, encoded, strict=True):
        view, salt = scanned_view(row)
        reference, error, personal = recompute(view, salt)
        assert error is None, (row, error)
        assert personal is None, (row, personal)
        assert hashlib.sha256(b"\x00" + leaf).digest() == reference, row
        assert rfc8785.dumps(json.loads(leaf, parse_int=float)) == leaf, row  # JCS: doubles


@pytest.mark.slow  # seconds of Hypothesis examples: the full run, not --quick
@PROPERTY
@pytest.mark.parametrize("encoder", ENCODERS)
@given(rows=st.lists(raw_rows(), min_size=1, max_size=2))
def test_every_answer_is_the_references(encoder: Encoder, rows: list[tuple[Any, ...]]) -> None:
    assert_reference_agrees(rows, count=True, encoder=encoder)


def can_build_c() -> bool:
    """A C compiler and Python's headers: what the build hook needs."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"], "Python.h")
    return shutil.which(compiler) is not None and headers.exists()


def test_the_c_module_is_built() -> None:
    """Where it can be built, a build that lost the C loops would run up to 4 times slower
    without a word: fail instead (unless switched off on purpose)."""
    if os.environ.get("TRAILKEEPER_NATIVE") == "0":
        pytest.skip("the C module switched off (TRAILKEEPER_NATIVE=0)")
    if not can_build_c():
        pytest.skip("no C compiler or Python headers here: the Python loops run")
    assert speedups.LOADED, (
        "trailkeeper._native is missing although a C compiler is there: "
        "TRAILKEEPER_REQUIRE_NATIVE=1 pip install -e . shows why the build failed"
    )


@pytest.mark.slow  # seconds of Hypothesis examples: the full run, not --quick
@needs_native
@PROPERTY
@given(st.lists(raw_rows(), min_size=1, max_size=3), st.sampled_from([0, PG_EPOCH, -PG_EPOCH]))
def test_every_answer_of_the_c_loop_is_the_python_loops(
    rows: list[tuple[Any, ...]], epoch: int
) -> None:
    answer = native(rows, epoch)
    event("answered" if answer is not None else "no answer")
    if answer is not None:
        assert answer == encode_rows_python(rows, epoch)


@needs_native
@PROPERTY
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=5))
def test_the_c_loop_writes_numbers_as_rfc8785_does(numbers: list[float]) -> None:
    """Floats are written in C (ECMAScript's number form): any finite double, the
    reference's bytes, and always answered."""
    row = stored_rows(1)[0] | {"metadata": orjson.dumps({"numbers": numbers}).decode()}
    answer = native([as_tuple(row)])
    assert answer is not None
    assert b'"numbers":' + rfc8785.dumps(numbers) in answer[0]
    assert answer == encode_rows_python([as_tuple(row)])


@pytest.mark.slow  # seconds of Hypothesis examples: the full run, not --quick
@settings(deadline=None, max_examples=examples(300))
@given(st.lists(raw_rows(), min_size=1, max_size=2), st.sampled_from([PG_EPOCH, -PG_EPOCH]))
def test_timestamps_counted_from_another_epoch_give_the_same_answer(
    rows: list[tuple[Any, ...]], epoch: int
) -> None:
    """A reader may count timestamps from another epoch (a whole number of days)."""
    at = [ROW_COLUMNS.index("occurred_at"), ROW_COLUMNS.index("received_at")]
    moved = [
        tuple(v - epoch if i in at and type(v) is int else v for i, v in enumerate(row))
        for row in rows
    ]
    assert encode_rows(moved, epoch) == encode_rows(rows)


@settings(deadline=None, max_examples=examples(300))
@given(micros, micros)
def test_timestamps_are_formatted_as_the_reference_does(occurred: Any, received: Any) -> None:
    """With everything else valid, only the timestamps decide: any answer is the reference's."""
    row = stored_rows(1)[0] | {"occurred_at": occurred, "received_at": received}
    assert_reference_agrees([as_tuple(row)], count=True)


def as_tuple(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[column] for column in ROW_COLUMNS)


def stored_rows(count: int) -> list[dict[str, Any]]:
    """Rows as ingest stores them (timestamps in microseconds), from valid events."""
    events = [
        make_event(i, metadata={"card": str(i), "n": i, "ratio": i / 7, "nested": {"z": [1]}})
        for i in range(count)
    ]
    rows = []
    for seq, draft in enumerate(drafts_from_events(events)):
        view = draft.sequenced(seq, "2026-11-10T12:00:00.000000Z")
        row = {
            **view,
            "occurred_at": 1_794_326_400_000_000 + seq * 60_000_000 + 123,
            "received_at": 1_794_326_400_000_000,
            "actor_id": view["actor"]["id"],
            "actor_type": view["actor"]["type"],
            "actor_name": view["actor"]["name"],
            "actor_email": view["actor"]["email"],
            "resource_type": view["resource"]["type"],
            "resource_id": view["resource"]["id"],
            "resource_name": view["resource"]["name"],
            "changes": orjson.dumps(view["changes"]).decode(),
            "run": None,
            "metadata": orjson.dumps(view["metadata"]).decode(),
            "leaf_hash": b"\x00" * 32,
            "pii_salt": draft.pii_salt,
        }
        rows.append(row)
    return rows


def test_rows_as_ingest_stores_them_take_the_fast_path() -> None:
    """Not vacuous: the rows trailkeeper writes (floats included) are answered for."""
    rows = [as_tuple(row) for row in stored_rows(50)]
    encoded = encode_rows(rows)
    assert encoded is not None
    if speedups.LOADED:
        assert native(rows) is not None  # the C loop answers for them, not the Python one
    assert_reference_agrees(rows)
    assert b'"ratio":0.14285714285714285' in encoded[1]
    assert canonical_json(orjson.loads(encoded[1])) == encoded[1]


def test_rows_it_cannot_vouch_for_get_no_answer() -> None:
    good = stored_rows(3)
    for bad in (
        {"actor_name": "Mallory"},  # no longer matches its pii
        {"pii_salt": None},  # personal data without a salt
        {"metadata": "{not json"},
        {"action": None},
        {"seq": 2.0},
        {"received_at": float(good[2]["received_at"])},
    ):
        assert encode_rows([as_tuple(good[0]), as_tuple(good[1] | bad)]) is None, bad
    erased = good[2] | dict.fromkeys(("actor_name", "actor_email", "ip", "user_agent", "pii_salt"))
    assert encode_rows([as_tuple(erased)]) is not None  # erased: nothing left to check
    assert_reference_agrees([as_tuple(erased)])
