"""The ingest queue: one writer thread per API process that checks, counts and stores the
requests that arrive together, in one transaction.

A single-event request used to cost several times its database work in the server's CPU
(docs/benchmarks.md, "Measured reasons in the code"): each request went to a pool thread
that read its token and tenant, counted it in its own rate-limit transaction and then
contended with seven other threads for the GIL and the write lock. Now the event loop
parses and validates a small body itself and hands the drafts here; the writer thread
takes every request queued meanwhile and, for the whole group:

1. asks the store which of the group's tokens are live (one query; a token revoked since
   the event loop remembered it gets the 401 it always got, before anything is counted);
2. counts every request against its token's ingest limit (one rate-counter transaction,
   shared by every process as before) and refuses those over it with 429;
3. answers the requests that failed validation or lack the scope (after the count, as
   before: a refused request still counts);
4. appends the rest in one transaction on SQLite (each batch in its own savepoint, so a
   conflicting batch is refused alone) and answers each once that commit has returned:
   a 2xx still means the events are on disk.

The order of the answers, 401 before 429 before 403 or 400, is the one the API always had.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from trailkeeper.auth.tokens import Principal
from trailkeeper.errors import RateLimited, Unauthenticated
from trailkeeper.events.record import Draft
from trailkeeper.ratelimit import RateState
from trailkeeper.service import Trailkeeper
from trailkeeper.storage.protocols import Receipt

__all__ = ["IngestQueue", "Outcome"]

MAX_REQUESTS = 256
"""At most this many requests in one group."""
MAX_EVENTS = 8_000
"""…and at most about this many events (a group stops after the batch that reaches it)."""

DRAIN_SECONDS = 0.005
"""At most this long the writer waits for the event loop to submit what it is reading."""

Outcome = tuple[RateState | None, list[Receipt] | Exception]
"""The request's rate-limit state (for the response headers) and its receipts, or the
exception that refuses it."""


@dataclass(slots=True, eq=False)
class _Job:
    principal: Principal
    drafts: list[Draft] | None
    error: Exception | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Outcome] = field(repr=False)


def _settle(pairs: list[tuple[asyncio.Future[Outcome], Outcome]]) -> None:
    for future, outcome in pairs:
        if not future.done():  # a request whose client left is cancelled
            future.set_result(outcome)


def _drained(loop: asyncio.AbstractEventLoop) -> None:
    """Wait (at most :data:`DRAIN_SECONDS`) until ``loop`` has run what it had ready.

    Requests that arrive together are read in one pass of the event loop, and each
    request is submitted as soon as it is parsed: without this wait the writer took the
    first one alone and the others in the next group, two commits (and two fsyncs)
    where one would do. A callback queued now runs after every request already ready."""
    done = threading.Event()
    try:
        loop.call_soon_threadsafe(done.set)
    except RuntimeError:  # a closed loop: the server stops
        return
    done.wait(DRAIN_SECONDS)


class IngestQueue:
    def __init__(self, service: Trailkeeper) -> None:
        self._service = service
        self._jobs: list[_Job] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    async def submit(
        self, principal: Principal, drafts: list[Draft] | None, error: Exception | None
    ) -> Outcome:
        """Count the request and store ``drafts`` (or answer ``error`` once counted)."""
        loop = asyncio.get_running_loop()
        job = _Job(principal, drafts, error, loop, loop.create_future())
        with self._ready:
            self._jobs.append(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="trailkeeper-ingest", daemon=True
                )
                self._thread.start()
            self._ready.notify()
        return await job.future

    def _take(self) -> list[_Job]:
        with self._ready:
            while not self._jobs:
                self._ready.wait()
            loop = self._jobs[0].loop
        _drained(loop)
        with self._ready:
            taken, events = 0, 0
            for job in self._jobs:
                taken += 1
                events += len(job.drafts or ())
                if taken >= MAX_REQUESTS or events >= MAX_EVENTS:
                    break
            jobs = self._jobs[:taken]
            del self._jobs[:taken]
        return jobs

    def _run(self) -> None:
        while True:
            jobs = self._take()
            try:
                outcomes = self._process(jobs)
            except Exception as exc:  # the group's transaction failed: no batch of it stored
                outcomes = [(None, exc)] * len(jobs)
            by_loop: dict[Any, list[tuple[asyncio.Future[Outcome], Outcome]]] = defaultdict(list)
            for job, outcome in zip(jobs, outcomes, strict=True):
                by_loop[job.loop].append((job.future, outcome))
            for loop, pairs in by_loop.items():
                with contextlib.suppress(RuntimeError):  # a closed loop: the server stops
                    loop.call_soon_threadsafe(_settle, pairs)

    def _process(self, jobs: Sequence[_Job]) -> list[Outcome]:
        service = self._service
        store = service.store
        outcomes: list[Outcome | None] = [None] * len(jobs)
        live = store.live_tokens([job.principal.token.id for job in jobs])
        counted: list[int] = []
        for index, job in enumerate(jobs):
            if job.principal.token.id in live:
                counted.append(index)
            else:
                service.tenancy.forget(job.principal)
                outcomes[index] = (
                    None,
                    Unauthenticated("This token is not valid or has been revoked"),
                )
        limit = service.settings.ingest_rate_limit
        states = service.limiter.check_many(
            "ingest", [(jobs[i].principal.token.id, limit) for i in counted]
        )
        appends: list[tuple[int, RateState]] = []
        for index, state in zip(counted, states, strict=True):
            job = jobs[index]
            if isinstance(state, RateLimited):
                outcomes[index] = (None, state)
            elif job.error is not None or job.drafts is None:
                outcomes[index] = (state, job.error or RuntimeError("no drafts"))
            else:
                appends.append((index, state))
        if appends:
            results = store.append_many(
                [(jobs[i].principal.tenant.id, jobs[i].drafts or []) for i, _ in appends]
            )
            for (index, state), result in zip(appends, results, strict=True):
                outcomes[index] = (state, result)
        return [o for o in outcomes if o is not None]
