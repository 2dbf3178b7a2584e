"""Per-token fixed-window rate limits, counted in the database so that every
process of a deployment shares them (CONTRACT section 5)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trailkeeper.errors import RateLimited
from trailkeeper.storage.protocols import RateLimitStore

__all__ = ["RateLimiter", "RateState"]

WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class RateState:
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset),
        }


class RateLimiter:
    def __init__(self, store: RateLimitStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def check(self, bucket: str, token_id: str, limit: int) -> RateState:
        """Count this request; raise ``RateLimited`` (with headers) when over ``limit``."""
        now = self._clock()
        window_start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        hits = self._store.hit(f"{bucket}:{token_id}", window_start, WINDOW_SECONDS)
        state = self._state(bucket, limit, hits, window_start, now)
        if isinstance(state, RateLimited):
            raise state
        return state

    def check_many(
        self, bucket: str, requests: Sequence[tuple[str, int]]
    ) -> list[RateState | RateLimited]:
        """:meth:`check` of each ``(token_id, limit)``, counted in one transaction where the
        store allows; each request's state, or the ``RateLimited`` that refuses it."""
        now = self._clock()
        window_start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        keys = [f"{bucket}:{token_id}" for token_id, _ in requests]
        counts = self._store.hit_many(keys, window_start, WINDOW_SECONDS)
        return [
            self._state(bucket, limit, hits, window_start, now)
            for (_, limit), hits in zip(requests, counts, strict=True)
        ]

    @staticmethod
    def _state(
        bucket: str, limit: int, hits: int, window_start: int, now: float
    ) -> RateState | RateLimited:
        reset = max(1, math.ceil(window_start + WINDOW_SECONDS - now))
        state = RateState(limit=limit, remaining=max(0, limit - hits), reset=reset)
        if hits > limit:
            return RateLimited(
                f"Rate limit of {limit} {bucket} requests a minute exceeded for this token; "
                f"retry in {reset} s",
                headers={**state.headers(), "Retry-After": str(reset), "X-Retry-After": str(reset)},
            )
        return state
