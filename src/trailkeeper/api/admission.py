"""A cap on the ingest bodies being parsed and written at once, in bytes.

Parsing turns a body into Python objects a few times its size; without a cap, many large
bodies at once could take the process's memory. Small bodies (single events) never reach
it; one body is always admitted when nothing else is in flight. Over the cap the request
is refused at once with ``429`` and ``Retry-After: 1`` (log shippers and SDKs retry
those), rather than queued where it would hold its bytes while waiting."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from trailkeeper.errors import RateLimited

__all__ = ["InFlight"]

RETRY_SECONDS = "1"


class InFlight:
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._lock = threading.Lock()

    @contextmanager
    def admit(self, size: int) -> Iterator[None]:
        """Hold ``size`` bytes of the budget for the block; refuse when it is spent."""
        with self._lock:
            if self.used and self.used + size > self.budget:
                busy = self.used / (1024 * 1024)
                raise RateLimited(
                    f"The server is already processing {busy:.1f} MiB of ingest bodies "
                    f"(at most {self.budget / (1024 * 1024):g} MiB at once); retry in "
                    f"{RETRY_SECONDS} s",
                    headers={"Retry-After": RETRY_SECONDS, "X-Retry-After": RETRY_SECONDS},
                )
            self.used += size
        try:
            yield
        finally:
            with self._lock:
                self.used -= size
