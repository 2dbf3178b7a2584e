"""Loading a bench log "received" on past days, and watching ingest latency meanwhile.

The stores stamp ``received_at`` with ``datetime.now``; while the log is loaded a clock of
the bench's choosing stands in for it (in this process only), so that the events are
genuinely old, with the leaf hashes made at ingest: nothing is rewritten afterwards."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from bench.data import make_corpus
from trailkeeper.events.batch import drafts_from_events
from trailkeeper.service import Trailkeeper

STORES = (
    "trailkeeper.storage.sqlite.store",
    "trailkeeper.storage.sqlite.groupappend",
    "trailkeeper.storage.postgres.store",
)


@contextmanager
def received_on(start: datetime, days: int, events: int) -> Iterator[list[int]]:
    """While inside, the stores' clock runs from ``start`` over ``days`` days as the
    yielded counter (events stored so far) goes from 0 to ``events``."""
    stored = [0]

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Clock:
            offset = timedelta(days=days) * min(stored[0], events) / max(events, 1)
            moment = start + offset
            return cls.fromtimestamp(moment.timestamp(), tz or UTC)

    with pytest.MonkeyPatch.context() as patch:
        for module in STORES:
            patch.setattr(f"{module}.datetime", Clock)
        yield stored


def load_old(service: Trailkeeper, tenant: str, events: int, start: datetime, days: int) -> int:
    """A new tenant (its first self-audit event is old too) with ``events`` bench events
    received over ``days`` days from ``start``; integrated and checkpointed. Its id."""
    with received_on(start, days, events) as stored:
        service.tenancy.create_tenant(tenant)
        found = service.tenancy.tenant(tenant)
        for body in make_corpus(events).bodies:
            batch = orjson.loads(body)["events"]
            service.store.append(found.id, drafts_from_events(batch))
            stored[0] += len(batch)
    service.integrity.sync(found.id)
    return found.id


def load_actor(service: Trailkeeper, tenant: str, events: int, actor: str) -> int:
    """``events`` bench events, all by ``actor`` (with a name, an email and an IP)."""
    found = service.tenancy.tenant(tenant)
    person = {"id": actor, "type": "user", "name": "Ana Souza", "email": "ana@example.com"}
    for body in make_corpus(events).bodies:
        batch = orjson.loads(body)["events"]
        for event in batch:
            event["actor"], event["ip"] = person, "203.0.113.9"
        service.store.append(found.id, drafts_from_events(batch))
    service.integrity.sync(found.id)
    return found.id


class IngestProbe:
    """Small batches appended every ``interval`` seconds on a thread: their latencies."""

    def __init__(self, service: Trailkeeper, tenant: str, interval: float = 0.05) -> None:
        self._service = service
        self._tenant = service.tenancy.tenant(tenant)
        self._interval = interval
        self._stop = threading.Event()
        self.latencies: list[float] = []
        self.started: list[float] = []  # perf_counter() at each batch's start
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._sent = 0
        self._run_id = os.urandom(4).hex()

    def _run(self) -> None:
        while not self._stop.is_set():
            events = [
                {"action": "probe.sent", "occurred_at": datetime.now(UTC).isoformat(),
                 "actor": {"id": "probe"}, "id": f"probe-{self._run_id}-{self._sent}-{i}"}
                for i in range(10)
            ]  # fmt: skip
            self._sent += 1
            started = time.perf_counter()
            self._service.store.append(self._tenant.id, drafts_from_events(events))
            self.latencies.append(time.perf_counter() - started)
            self.started.append(started)
            self._stop.wait(self._interval)

    def __enter__(self) -> IngestProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def p95_ms(self) -> float:
        return p95_ms(self.latencies)

    def within(self, spans: list[tuple[float, float]]) -> list[float]:
        """Latencies of the batches that overlapped one of ``spans`` (perf_counter pairs)."""
        return [
            latency
            for started, latency in zip(self.started, self.latencies, strict=True)
            if any(started < end and started + latency > begin for begin, end in spans)
        ]


def p95_ms(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[int(0.95 * (len(ordered) - 1))] * 1000 if ordered else float("nan")
