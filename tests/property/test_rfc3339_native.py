"""The C reading of a UTC timestamp is the Python reading's, or declines.

``parse_rfc3339_text`` asks ``trailkeeper._native.rfc3339_utc`` first: wherever it answers,
the datetime (UTC) and the text must be ``parse_rfc3339_text_python``'s, and the Python
function must not refuse that text. Texts are drawn close to the form, one piece at a time
wrong: digits out of range, non-ASCII digits, every separator and offset spelling, fractions
of 0 to 11 digits, and the calendar's edges (leap days, years 1 and 9999)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from profiles import examples
from support import needs_native
from trailkeeper.events.timestamps import parse_rfc3339_text_python

PROPERTY = settings(
    deadline=None,
    max_examples=examples(3000),
    suppress_health_check=[HealthCheck.too_slow],
)

digit = st.sampled_from("0123456789")
odd_digit = st.sampled_from(["٣", "x", " ", "-", "+", "9", "0"])


def digits(count: int) -> st.SearchStrategy[str]:
    return st.lists(digit | odd_digit, min_size=count, max_size=count).map("".join)


def two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}") | digits(2)


offsets = st.sampled_from(
    ["Z", "z", "+00:00", "-00:00", "+01:00", "-23:59", "+24:00", "+00:60", "", "Zz", "+0000",
     "+00:00\n", "Z\n", " Z", "+00:0", "UTC", "−00:00"]
)  # fmt: skip


@st.composite
def near_rfc3339(draw: st.DrawFn) -> str:
    year = draw(st.integers(0, 9999).map(lambda n: f"{n:04d}") | digits(4))
    month, day = draw(two(0, 13)), draw(two(0, 32))
    hour, minute, second = draw(two(0, 25)), draw(two(0, 61)), draw(two(0, 61))
    separator = draw(st.sampled_from(["T", "t", " ", "_", "TT"]))
    fraction = draw(st.none() | st.text("0123456789", max_size=11))
    dash = draw(st.sampled_from(["-", "-", "-", "/"]))
    text = f"{year}{dash}{month}-{day}{separator}{hour}:{minute}:{second}"
    if fraction is not None:
        text += "." + fraction
    return text + draw(offsets)


def python_answer(text: str) -> Any:
    try:
        return parse_rfc3339_text_python(text)
    except ValueError as exc:
        return exc


@needs_native
@settings(PROPERTY)
@given(near_rfc3339() | st.text(max_size=40))
@example("2026-11-20T13:45:12.123Z")
@example("2024-02-29T23:59:59.999999999-00:00")
@example("2023-02-29T00:00:00Z")
@example("0001-01-01t00:00:00z")
@example("0000-01-01T00:00:00Z")
@example("9999-12-31 23:59:59.1+00:00")
@example("2026-11-20T13:45:60Z")
@example("2026-11-20T24:00:00Z")
@example("2026-11-20T13:45:12.Z")
@example("2026-11-20T13:45:12.1234567890Z")
@example("2026-11-20T13:45:12+05:30")
def test_the_c_reading_is_the_python_reading(text: str) -> None:
    from trailkeeper._native import rfc3339_utc

    answer = rfc3339_utc(text)
    expected = python_answer(text)
    if answer is None:
        return
    assert not isinstance(expected, ValueError), (text, expected)
    moment, stored = answer
    assert (moment, stored) == expected
    assert moment.tzinfo is UTC
    assert expected[0].tzinfo is UTC
    assert type(moment) is datetime
    assert type(stored) is str


@needs_native
@settings(PROPERTY, max_examples=examples(500))
@given(st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31)), st.sampled_from(["Z", "+00:00"]))
def test_every_valid_utc_timestamp_is_read_in_c(moment: datetime, offset: str) -> None:
    """The C reading covers what producers send (a decline would only cost time)."""
    from trailkeeper._native import rfc3339_utc

    text = moment.isoformat() + offset
    assert rfc3339_utc(text) == parse_rfc3339_text_python(text)
