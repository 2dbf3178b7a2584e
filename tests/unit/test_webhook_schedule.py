"""The retry schedule: Standard Webhooks' delays, jitter, the 24 h horizon and
``Retry-After``. Time is passed in; nothing here waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trailkeeper.webhooks.schedule import DELAYS, HORIZON, RetrySchedule, parse_retry_after

CREATED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EXACT = RetrySchedule(jitter=0)


def attempt_times(schedule: RetrySchedule) -> list[timedelta]:
    """When each attempt happens if every one fails, as offsets from creation."""
    times, now = [timedelta(0)], CREATED
    while nxt := schedule.next_attempt(created_at=CREATED, attempts=len(times), now=now):
        assert nxt > now
        times.append(nxt - CREATED)
        now = nxt
    return times


def test_standard_webhooks_delays_until_the_24h_horizon() -> None:
    seconds = [t.total_seconds() for t in attempt_times(EXACT)]
    # immediately, +5 s, +5 min, +30 min, +2 h, +5 h, +10 h; the next (+14 h) would
    # pass the horizon, so the last attempt is at exactly 24 h, and none after it.
    assert seconds == [0, 5, 305, 2105, 9305, 27305, 63305, 86400]
    assert DELAYS[:6] == (5, 300, 1800, 7200, 18000, 36000)
    assert timedelta(hours=24) == HORIZON


def test_no_attempt_once_the_horizon_has_passed() -> None:
    late = CREATED + HORIZON
    assert EXACT.next_attempt(created_at=CREATED, attempts=1, now=late) is None
    assert EXACT.next_attempt(created_at=CREATED, attempts=3, now=late + timedelta(days=3)) is None


def test_the_last_delay_repeats_past_the_list() -> None:
    schedule = RetrySchedule(delays=(1, 2), jitter=0, horizon=timedelta(days=1))
    at = schedule.next_attempt(created_at=CREATED, attempts=9, now=CREATED)
    assert at == CREATED + timedelta(seconds=2)


@pytest.mark.parametrize(("draw", "factor"), [(0.0, 0.9), (0.5, 1.0), (0.999999, 1.1)])
def test_jitter_stretches_or_shrinks_by_up_to_ten_percent(draw: float, factor: float) -> None:
    schedule = RetrySchedule(random=lambda: draw)
    at = schedule.next_attempt(created_at=CREATED, attempts=2, now=CREATED)
    assert at is not None
    assert (at - CREATED).total_seconds() == pytest.approx(300 * factor, rel=1e-5)


@given(
    attempts=st.integers(1, 30),
    elapsed=st.floats(0, 2 * 86400),
    draw=st.floats(0, 1, exclude_max=True),
    retry_after=st.none() | st.floats(0, 3 * 86400),
)
def test_never_before_now_and_never_past_the_horizon(
    attempts: int, elapsed: float, draw: float, retry_after: float | None
) -> None:
    now = CREATED + timedelta(seconds=elapsed)
    schedule = RetrySchedule(random=lambda: draw)
    at = schedule.next_attempt(
        created_at=CREATED, attempts=attempts, now=now, retry_after=retry_after
    )
    if at is None:
        return
    assert now <= at <= CREATED + HORIZON
    if retry_after is not None:
        assert at >= now + timedelta(seconds=retry_after)


def test_retry_after_longer_than_the_schedule_is_honoured() -> None:
    at = EXACT.next_attempt(created_at=CREATED, attempts=1, now=CREATED, retry_after=600)
    assert at == CREATED + timedelta(seconds=600)


def test_retry_after_shorter_than_the_schedule_does_not_hurry_it() -> None:
    at = EXACT.next_attempt(created_at=CREATED, attempts=3, now=CREATED, retry_after=1)
    assert at == CREATED + timedelta(seconds=1800)


def test_retry_after_past_the_horizon_gives_up() -> None:
    now = CREATED + timedelta(hours=23)
    assert EXACT.next_attempt(created_at=CREATED, attempts=2, now=now, retry_after=7200) is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Fri, 20 Nov 2026 12:02:00 GMT", 120.0),
        ("Fri, 20 Nov 2026 11:00:00 GMT", 0.0),  # in the past: now
        ("9" * 40, 365 * 86400.0),  # absurd: capped, no overflow
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("²", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, CREATED) == seconds
