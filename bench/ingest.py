"""Ingest throughput: ``POST /v1/events`` in batches over HTTP, and the raw-insert baseline."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
from rich.progress import Progress

from bench.data import Corpus
from bench.db import Raw
from bench.server import Deployment

__all__ = ["IngestResult", "RawInsertResult", "ingest_http", "insert_raw"]

MAX_ATTEMPTS = 3


@dataclass(slots=True)
class IngestResult:
    events: int
    requests: int
    seconds: float
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass(slots=True)
class RawInsertResult:
    events: int
    seconds: float  # time inside INSERT/COPY + COMMIT only (reading the rows back is excluded)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def ingest_http(
    deployment: Deployment, corpus: Corpus, clients: int, progress: Progress | None = None
) -> IngestResult:
    """Send every body of ``corpus`` with ``clients`` threads, each with its own keep-alive
    connection; a batch that fails is retried (bounded) and then counted as an error.

    The connections are opened one after another before the clock starts. Opened in one
    burst, they all went to one process of ``serve --processes N`` (its event loop, woken
    first, accepts every connection waiting); one by one, each goes to whichever process
    accepts it first (docs/benchmarks.md, "Ingest over HTTP")."""
    lock = threading.Lock()
    cursor = iter(range(len(corpus.bodies)))
    result = IngestResult(0, 0, 0.0, clients)
    task = progress.add_task("ingest over HTTP", total=corpus.events) if progress else None

    opened = [deployment.client() for _ in range(clients)]
    for client in opened:
        client.get("/readyz").raise_for_status()

    def worker(client: httpx.Client) -> None:
        try:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                body = corpus.bodies[index]
                for attempt in range(MAX_ATTEMPTS):
                    started = time.perf_counter()
                    response = client.post(
                        "/v1/events", content=body, headers={"Content-Type": "application/json"}
                    )
                    elapsed = time.perf_counter() - started
                    if response.status_code == 201:
                        stored = len(response.json()["events"])
                        with lock:
                            result.events += stored
                            result.requests += 1
                            result.latencies.append(elapsed)
                        if progress is not None and task is not None:
                            progress.advance(task, stored)
                        break
                    if attempt == MAX_ATTEMPTS - 1:
                        with lock:
                            result.errors.append(f"{response.status_code} {response.text[:200]}")
        finally:
            client.close()

    threads = [
        threading.Thread(target=worker, args=(client,), name=f"ingest-{n}")
        for n, client in enumerate(opened)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def insert_raw(raw: Raw, batch_size: int, progress: Progress | None = None) -> RawInsertResult:
    """Copy the tenant's stored rows, batch by batch, into a clone of the events table with the
    same indexes (and FTS trigger / ``event_ids`` table), one transaction per batch."""
    raw.create_clone()
    total, seconds = 0, 0.0
    task = progress.add_task("raw inserts (baseline)", total=raw.count()) if progress else None
    try:
        for rows in raw.stored_batches(batch_size):
            seconds += raw.insert_clone(rows)
            total += len(rows)
            if progress is not None and task is not None:
                progress.advance(task, len(rows))
    finally:
        raw.drop_clone()
    return RawInsertResult(total, seconds)
