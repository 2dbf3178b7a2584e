"""When a failed webhook is tried again.

Standard Webhooks suggests: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 14 h, 20 h and 24 h after each failure, with jitter so that receivers
coming back up are not hit by every sender at once. The contract bounds the
whole effort to 24 hours after the delivery was queued: the last attempt is
made at that horizon, and nothing after it. A receiver that answers 429 or 503
with ``Retry-After`` is not called again before the time it asked for."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["DELAYS", "HORIZON", "RetrySchedule", "parse_retry_after"]

# Seconds to wait after the 1st, 2nd, ... failed attempt (the first is immediate).
DELAYS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
HORIZON = timedelta(hours=24)
_LONGEST = 365 * 86400.0  # a Retry-After beyond this is as good as "never"


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    delays: tuple[float, ...] = DELAYS
    horizon: timedelta = HORIZON
    jitter: float = 0.1  # each delay is stretched or shrunk by up to this fraction
    random: Callable[[], float] = random.random

    def next_attempt(
        self,
        *,
        created_at: datetime,
        attempts: int,
        now: datetime,
        retry_after: float | None = None,
    ) -> datetime | None:
        """When to try again after ``attempts`` (≥ 1) attempts failed, or None to give up."""
        deadline = created_at + self.horizon
        if now >= deadline or attempts < 1:
            return None
        base = self.delays[min(attempts, len(self.delays)) - 1]
        delay = base * (1 + self.jitter * (2 * self.random() - 1))
        if retry_after is not None:
            if now + timedelta(seconds=retry_after) > deadline:
                return None  # the receiver asks for a time past our horizon
            delay = max(delay, retry_after)
        return min(now + timedelta(seconds=delay), deadline)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from ``now`` that a ``Retry-After`` header asks for (delay-seconds
    or an HTTP date), or None when it is absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(text), _LONGEST)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 9110 dates are always GMT
    return min(max((when - now).total_seconds(), 0.0), _LONGEST)
