"""How long a stream waits before sending a batch again: exponential, with jitter
so that senders coming back after an outage do not arrive together, and never
sooner than the destination's ``Retry-After``."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff"]

_LONGEST_RETRY_AFTER = 3600.0


@dataclass(slots=True)
class Backoff:
    base: float = 1.0
    cap: float = 60.0  # while the destination is unavailable
    failing_cap: float = 300.0  # while a person must act: try now and then, not hammer
    random: Callable[[], float] = random.random
    failures: int = 0

    def next_delay(self, *, failing: bool, retry_after: float | None = None) -> float:
        """Count one more failure; the seconds to wait: half to all of
        ``base * 2**(failures - 1)`` within the cap ("equal jitter")."""
        self.failures += 1
        cap = self.failing_cap if failing else self.cap
        ceiling = min(cap, self.base * 2 ** min(self.failures - 1, 30))
        delay: float = ceiling * (0.5 + 0.5 * self.random())
        if retry_after is not None:
            delay = max(delay, min(retry_after, _LONGEST_RETRY_AFTER))
        return delay

    def reset(self) -> None:
        self.failures = 0
