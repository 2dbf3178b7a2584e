"""One stream's delivery loop, run by the process that holds the stream's lease.

Reads the events after the cursor in seq order with the stream's filters, batches
them (by count, bytes, and a short wait for more), sends each batch, and moves the
cursor only once the destination accepted it. A batch that fails stays pending
and is sent again, unchanged, after a backoff; a batch the destination finds too
large is split in two. The stream's row is read before each send, so a pause or a
delete stops delivery within one batch; every write names this process as the
lease owner, so a process that lost the lease stops instead of writing."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Protocol

from trailkeeper.events.query import EventQuery
from trailkeeper.storage.exportrows import SEQ, ExportRow
from trailkeeper.storage.streamsql import StreamRecord
from trailkeeper.streams.backoff import Backoff
from trailkeeper.streams.destinations.base import Batch, Destination, Outcome
from trailkeeper.streams.formats import items_from_rows

__all__ = ["EngineStore", "StreamRunner", "Timing", "stream_query"]

log = logging.getLogger("trailkeeper.streams")
PAGE = 1000


class EngineStore(Protocol):
    def stream_rows(
        self, tenant_id: int, query: EventQuery, after: int, limit: int
    ) -> list[ExportRow]: ...

    def last_seq(self, tenant_id: int) -> int: ...

    def get_stream(self, tenant_id: int, stream_id: str) -> StreamRecord | None: ...

    def stream_progress(
        self, stream_id: str, owner: str, cursor_seq: int, delivered: int, lease_seconds: float
    ) -> StreamRecord | None: ...

    def stream_error(
        self, stream_id: str, owner: str, error: str, *, failing: bool, lease_seconds: float
    ) -> StreamRecord | None: ...

    def release_stream(self, stream_id: str, owner: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Timing:
    lease: float = 30.0  # seconds a lease lasts unless renewed
    poll: float = 0.5  # an idle stream looks for new events this often
    linger: float = 0.2  # a batch that is not full waits this long for more events


def stream_query(filters: dict[str, Any]) -> EventQuery:
    """The stream's filters as a list query, oldest first."""
    params = {k: [v] if isinstance(v, str) else list(v) for k, v in filters.items()}
    return replace(EventQuery.from_params(params), order="asc")


class StreamRunner:
    def __init__(
        self,
        store: EngineStore,
        record: StreamRecord,
        destination: Destination,
        owner: str,
        stop: threading.Event,
        timing: Timing = Timing(),
        backoff: Backoff | None = None,
    ) -> None:
        self._store = store
        self._record = record
        self._dest = destination
        self._owner = owner
        self._stop = stop
        self._timing = timing
        self._backoff = backoff or Backoff()
        self._query = stream_query(record.filters)
        self._cursor = record.cursor_seq
        self._horizon = record.cursor_seq  # every match up to here has been read
        self._pending: deque[Batch] = deque()
        self._renewed = time.monotonic()
        self._limit = min(PAGE, destination.max_events)
        self._linger = float(getattr(destination, "linger", timing.linger))

    @property
    def stream_id(self) -> str:
        return self._record.id

    def run(self) -> None:
        """Deliver until stopped, paused, deleted or the lease is lost; never raises."""
        try:
            while not self._stop.is_set() and self._step():
                pass
        except Exception:
            log.exception(
                "stream %s: delivery loop failed; it will be picked up again", self.stream_id
            )
        finally:
            try:
                self._dest.close()
            finally:
                self._store.release_stream(self.stream_id, self._owner)

    # one step -------------------------------------------------------------
    def _step(self) -> bool:
        """Send the next batch, or wait for events; False to stop."""
        if not self._pending:
            self._read()
            if not self._pending:
                return self._idle()
        current = self._store.get_stream(self._record.tenant_id, self.stream_id)
        if not self._ours(current):
            return False
        assert current is not None
        self._notice(current)
        return self._send(self._pending[0])

    def _idle(self) -> bool:
        """Nothing to send: record how far the log was read (or renew the lease now
        and then), then wait for new events."""
        moved = self._horizon > self._cursor
        due = moved or time.monotonic() - self._renewed > self._timing.lease / 3
        if due and not self._progress(self._horizon, 0):
            return False
        self._stop.wait(self._timing.poll)
        return True

    def _send(self, batch: Batch) -> bool:
        outcome = self._dest.send(batch)
        if outcome.kind == "accepted":
            self._pending.popleft()
            self._backoff.reset()
            cursor = batch.last_seq if self._pending else max(batch.last_seq, self._horizon)
            return self._progress(cursor, len(batch.seqs))
        if outcome.kind == "too_large" and len(batch.seqs) > 1:
            first, second = batch.halves()
            self._pending.popleft()
            self._pending.extendleft((second, first))
            self._limit = max(1, len(first.seqs))
            return True
        if outcome.kind == "too_large":
            outcome = Outcome(
                "failing", f"event seq {batch.first_seq} is too large: {outcome.message}"
            )
        return self._failed(outcome)

    def _failed(self, outcome: Outcome) -> bool:
        failing = outcome.kind == "failing"
        delay = self._backoff.next_delay(failing=failing, retry_after=outcome.retry_after)
        log.warning("stream %s: %s; next attempt in %.1f s", self.stream_id, outcome.message, delay)
        record = self._store.stream_error(
            self.stream_id, self._owner, outcome.message or outcome.kind,
            failing=failing, lease_seconds=self._timing.lease,
        )  # fmt: skip
        if record is None:
            return False
        self._renewed = time.monotonic()
        self._record = record
        return self._wait(delay)

    def _wait(self, delay: float) -> bool:
        """Back off, looking at the stream every second: a pause or a delete ends the
        wait and the loop, a resume (a person fixed something) ends the wait."""
        deadline = time.monotonic() + delay
        seen = self._record.updated_at
        while not self._stop.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                return True
            current = self._store.get_stream(self._record.tenant_id, self.stream_id)
            if not self._ours(current):
                return False
            assert current is not None
            if current.updated_at != seen:
                self._backoff.reset()
                return True
            due = time.monotonic() - self._renewed > self._timing.lease / 3
            if due and not self._progress(self._cursor, 0):
                return False
        return False

    # reading --------------------------------------------------------------
    def _read(self) -> None:
        """The next events after what was read, as batches within the destination's
        limits; waits ``linger`` once for more when the page is not full."""
        rows, horizon = self._page(self._horizon, self._limit)
        if rows and len(rows) < self._limit and self._linger > 0:
            if self._stop.wait(self._linger):
                return
            more, horizon = self._page(rows[-1][SEQ], self._limit - len(rows))
            rows += more
        self._horizon = horizon
        self._batch(rows)

    def _page(self, after: int, limit: int) -> tuple[list[ExportRow], int]:
        """Up to ``limit`` matches after ``after``, and how far the log was read: to the
        last match, or (a short page) to the log's end as it was before the query."""
        end = self._store.last_seq(self._record.tenant_id)
        if end <= after:
            return [], after
        rows = self._store.stream_rows(self._record.tenant_id, self._query, after, limit)
        return rows, rows[-1][SEQ] if len(rows) == limit else end

    def _batch(self, rows: list[ExportRow]) -> None:
        items = items_from_rows(self._record.format, rows)
        seqs: list[int] = []
        pieces: list[bytes] = []
        size = 0
        for item in items:
            piece = self._dest.encode(item)
            if pieces and (size + len(piece) > self._dest.max_bytes or len(pieces) >= self._limit):
                self._pending.append(Batch(self.stream_id, seqs, pieces))
                seqs, pieces, size = [], [], 0
            seqs.append(item.seq)
            pieces.append(piece)
            size += len(piece) + 1
        if pieces:
            self._pending.append(Batch(self.stream_id, seqs, pieces))

    # the stream's row ----------------------------------------------------
    def _ours(self, current: StreamRecord | None) -> bool:
        """Still this process's to deliver: not deleted, not paused, lease not taken."""
        return (
            current is not None
            and current.status != "paused"
            and current.lease_owner == self._owner
        )

    def _notice(self, current: StreamRecord) -> None:
        self._record = current

    def _progress(self, cursor: int, delivered: int) -> bool:
        record = self._store.stream_progress(
            self.stream_id, self._owner, cursor, delivered, self._timing.lease
        )
        if record is None:
            return False
        self._record = record
        self._cursor = max(self._cursor, cursor)
        self._renewed = time.monotonic()
        return record.status != "paused"
