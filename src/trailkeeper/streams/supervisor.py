"""Runs the streams this process holds leases for, one thread each.

Every pass (once a second, from the background worker) it lets go of finished
threads and claims streams nobody delivers: new ones, resumed ones, and those
whose deliverer died (its lease ran out). With several ``serve``/``worker``
processes on one PostgreSQL database, the claim's compare-and-set gives each
stream to exactly one of them."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Protocol

from trailkeeper.deployment_key import DeploymentKey
from trailkeeper.settings import Settings
from trailkeeper.storage.protocols import StreamStore
from trailkeeper.storage.streamsql import StreamRecord
from trailkeeper.storage.tenants import TenantLookup
from trailkeeper.streams.destinations import Destination, open_destination
from trailkeeper.streams.engine import StreamRunner, Timing

__all__ = ["StreamSupervisor", "SupervisorStore", "process_owner"]

log = logging.getLogger("trailkeeper.streams")
DestinationFactory = Callable[[StreamRecord], Destination]


def process_owner() -> str:
    """Names this process in leases: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SupervisorStore(StreamStore, TenantLookup, Protocol):
    """Streams to claim and run, and the tenant whose webhook secret a stream may use."""


class StreamSupervisor:
    def __init__(
        self,
        store: SupervisorStore,
        key: DeploymentKey,
        settings: Settings,
        *,
        capacity: int = 64,
        timing: Timing | None = None,
        destinations: DestinationFactory | None = None,
    ) -> None:
        self._store = store
        self._key = key
        self._settings = settings
        self._capacity = capacity
        self.timing = timing or Timing(lease=settings.stream_lease)
        self._destinations = destinations or self.open
        self.owner = process_owner()
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}

    def open(self, record: StreamRecord) -> Destination:
        """The stream's destination, its secrets unsealed."""
        tenant_id = record.tenant_id

        def webhook_secret() -> str:
            tenant = self._store.tenant_by_id(tenant_id)
            if tenant is None:
                raise LookupError("the tenant no longer exists")
            return self._key.open(tenant.webhook_secret_sealed)

        return open_destination(record, self._key, self._settings, webhook_secret)

    @property
    def running(self) -> list[str]:
        return [sid for sid, thread in self._threads.items() if thread.is_alive()]

    def run_once(self) -> bool:
        """Claim what is free and start delivering it; never busy (the loop idles)."""
        self._threads = {sid: t for sid, t in self._threads.items() if t.is_alive()}
        free = self._capacity - len(self._threads)
        if self._stop.is_set() or free <= 0:
            return False
        for stream_id in self._store.claimable_streams(free):
            if stream_id in self._threads:
                continue
            record = self._store.claim_stream(stream_id, self.owner, self.timing.lease)
            if record is not None:
                self._start(record)
        return False

    def _start(self, record: StreamRecord) -> None:
        try:
            destination = self._destinations(record)
        except Exception as exc:
            problem = f"the stream's settings cannot be used: {type(exc).__name__}"
            log.error("stream %s: %s", record.id, problem)
            self._store.stream_error(
                record.id, self.owner, problem, failing=True, lease_seconds=self.timing.lease
            )
            return  # the lease runs out and the stream is tried again later
        runner = StreamRunner(self._store, record, destination, self.owner, self._stop, self.timing)
        thread = threading.Thread(
            target=runner.run, name=f"trailkeeper-stream-{record.id}", daemon=True
        )
        self._threads[record.id] = thread
        thread.start()

    def stop(self) -> None:
        """Stop every delivery loop; each lets go of its lease for another process."""
        self._stop.set()
        for thread in list(self._threads.values()):
            thread.join(timeout=30)
        self._threads.clear()
