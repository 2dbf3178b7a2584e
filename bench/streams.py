"""Streams to a local Splunk-HEC-style receiver: sustained delivery and end-to-end lag.

    python -m bench.streams [--events 200000] [--rate 1000] [--seconds 20] [--database-url …]

1. **Throughput.** ``--events`` events are stored first; then (a) the baseline: a plain loop
   of HTTP posts of the same bodies the stream sends (its own envelopes, 1,000 a body, built
   before the clock starts) to the same receiver; (b) a poll-and-forward loop, what a
   customer's cron job does: read a page of the list API's views, post it as envelopes; and
   (c) a stream from ``beginning`` delivered by a supervisor in this process, as ``serve``
   runs it. Printed: events/s of each, the stream's ratios to (a) and (b), CPU time per event.
   (a) does not touch the database, so it is the receiver's and the HTTP client's ceiling;
   (b) and (c) read the log.
2. **Lag.** Events are ingested at ``--rate`` per second for ``--seconds`` while an idle
   stream (``start: now``) delivers them; the lag of each event is the time from its ingest
   response to its arrival at the receiver. Printed: p50/p95/max beside the baseline of the
   same events posted straight to the receiver by the ingest loop, and p95 against the 2 s
   target.

The receiver counts envelopes without parsing them in the throughput phase (so it is not the
bottleneck) and parses them in the lag phase (to know which event arrived when). The machine
is shared: compare ratios, not raw figures."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson

from trailkeeper.events.query import EventQuery
from trailkeeper.service import Trailkeeper
from trailkeeper.service.audit import CLI_ACTOR
from trailkeeper.settings import Settings
from trailkeeper.storage.exportrows import SEQ
from trailkeeper.streams.config import SplunkHecConfig
from trailkeeper.streams.destinations.splunk_hec import SplunkHec
from trailkeeper.streams.engine import Timing
from trailkeeper.streams.formats import items_from_rows
from trailkeeper.streams.supervisor import StreamSupervisor

TOKEN = "11111111-2222-3333-4444-555555555555"
BATCH = 1000
MARK = b'{"time":'


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.count = 0
        self.parse = False
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver
    protocol_version = "HTTP/1.1"
    # The answer goes out as two writes (headers, then body): with Nagle's algorithm on,
    # the body waited for the client's delayed ACK, 40 ms per request on a kept-alive
    # connection (the baseline's), as no real HEC endpoint answers.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        now = time.monotonic()
        if self.headers.get("Authorization") != f"Splunk {TOKEN}":
            self._answer(403, b'{"text":"Invalid token","code":4}')
            return
        with self.server.lock:
            self.server.count += body.count(MARK)
            if self.server.parse:
                decoder, text, at = json.JSONDecoder(), body.decode(), 0
                while at < len(text):
                    envelope, at = decoder.raw_decode(text, at)
                    self.server.arrivals.setdefault(envelope["event"]["id"], now)
                    while at < len(text) and text[at].isspace():
                        at += 1
        self._answer(200, b'{"text":"Success","code":0}')

    def _answer(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


def event(i: int, prefix: str) -> dict[str, Any]:
    return {
        "id": f"{prefix}-{i}", "action": "card.moved",
        "occurred_at": "2026-11-20T13:45:12.123Z",
        "actor": {"id": f"u_{i % 50}", "name": f"User {i % 50}", "email": f"u{i % 50}@example.com"},
        "resource": {"type": "pipe", "id": str(i % 200), "name": f"Pipe {i % 200}"},
        "source": "web", "ip": "203.0.113.9",
        "changes": [{"field": "phase", "old": "Backlog", "new": "Approved"}],
        "metadata": {"card_id": str(i)},
    }  # fmt: skip


def envelope(view: dict[str, Any]) -> bytes:
    fields = b'"source":"trailkeeper","sourcetype":"trailkeeper:audit"'
    return b'{"time":1794312000.000,%b,"event":%b}' % (fields, orjson.dumps(view))


def store_events(service: Trailkeeper, count: int, prefix: str) -> None:
    tenant = service.tenancy.tenant("bench")
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        service.ingest_events(tenant, [event(start + i, prefix) for i in range(size)])


def stream_bodies(service: Trailkeeper, receiver: Receiver) -> list[bytes]:
    """Every stored event as the stream's own request bodies: the raw rows it reads, its
    native items, the Splunk HEC destination's envelopes, ``BATCH`` to a body."""
    tenant = service.tenancy.tenant("bench")
    config = SplunkHecConfig.model_validate({"url": receiver.url, "token": TOKEN})
    destination = SplunkHec(config, httpx.Client())
    bodies, after = [], -1
    while rows := service.store.stream_rows(tenant.id, EventQuery(order="asc"), after, BATCH):
        items = items_from_rows("native", rows)
        bodies.append(b"\n".join(destination.encode(item) for item in items))
        after = rows[-1][SEQ]
    destination.close()
    return bodies


def baseline(service: Trailkeeper, receiver: Receiver, count: int) -> tuple[float, float]:
    """A plain loop of posts of the stream's bodies, built beforehand; events/s and CPU s."""
    bodies = stream_bodies(service, receiver)
    receiver.count = 0
    headers = {"Authorization": f"Splunk {TOKEN}", "Content-Type": "application/json"}
    cpu, wall = time.process_time(), time.monotonic()
    with httpx.Client(timeout=30) as client:
        for body in bodies:
            client.post(f"{receiver.url}/services/collector/event", content=body, headers=headers)
    assert receiver.count == count, (receiver.count, count)
    return receiver.count / (time.monotonic() - wall), time.process_time() - cpu


def poll_loop(service: Trailkeeper, receiver: Receiver, count: int) -> tuple[float, float]:
    """A customer's poll-and-forward loop: read a page of API views, post it as one body
    of envelopes; events/s and CPU s."""
    tenant = service.tenancy.tenant("bench")
    query = EventQuery(order="asc")
    receiver.count = 0
    headers = {"Authorization": f"Splunk {TOKEN}"}
    cpu, wall = time.process_time(), time.monotonic()
    with httpx.Client(timeout=30) as client:
        after = -1
        while receiver.count < count:
            page = service.store.page(tenant.id, query, after, BATCH)
            if not page:
                break
            body = b"\n".join(envelope(v) for v in page)
            client.post(f"{receiver.url}/services/collector/event", content=body, headers=headers)
            after = page[-1]["seq"]
    return receiver.count / (time.monotonic() - wall), time.process_time() - cpu


def streamed(service: Trailkeeper, receiver: Receiver, count: int) -> tuple[float, float]:
    """A stream from ``beginning``, delivered by a supervisor as ``serve`` runs it."""
    tenant = service.tenancy.tenant("bench")
    receiver.count = 0
    config = {"url": receiver.url, "token": TOKEN}
    body = {"name": "bench", "type": "splunk_hec", "start": "beginning", "config": config}
    supervisor = StreamSupervisor(service.store, service.key, service.settings)
    cpu, wall = time.process_time(), time.monotonic()
    stream = service.streams.create(tenant, body, CLI_ACTOR)
    try:
        while receiver.count < count:
            supervisor.run_once()
            time.sleep(0.01)
        elapsed = time.monotonic() - wall
    finally:
        supervisor.stop()
        service.streams.delete(tenant, stream["id"], CLI_ACTOR)
    return receiver.count / elapsed, time.process_time() - cpu


def lag(service: Trailkeeper, receiver: Receiver, rate: int, seconds: float) -> dict[str, Any]:
    tenant = service.tenancy.tenant("bench")
    config = {"url": receiver.url, "token": TOKEN}
    body = {"name": "lag", "type": "splunk_hec", "start": "now", "config": config,
            "filters": {"action": "card.moved"}}  # fmt: skip
    stream = service.streams.create(tenant, body, CLI_ACTOR)
    supervisor = StreamSupervisor(service.store, service.key, service.settings, timing=Timing())
    stop = threading.Event()

    def supervise() -> None:
        while not stop.is_set():
            supervisor.run_once()
            stop.wait(1.0)

    thread = threading.Thread(target=supervise, daemon=True)
    receiver.parse, receiver.arrivals = True, {}
    thread.start()
    sent: dict[str, float] = {}
    direct: list[float] = []
    tick, per_tick = 0.05, max(1, int(rate * 0.05))
    headers = {"Authorization": f"Splunk {TOKEN}"}
    with httpx.Client(timeout=30) as client:
        begin, i = time.monotonic(), 0
        while time.monotonic() - begin < seconds:
            batch = [event(i + k, "lag") for k in range(per_tick)]
            service.ingest_events(tenant, batch)
            at = time.monotonic()
            for item in batch:
                sent[item["id"]] = at
            posted = b"\n".join(envelope({**e, "id": "direct-" + e["id"]}) for e in batch)
            client.post(f"{receiver.url}/services/collector/event", content=posted, headers=headers)
            direct.append(time.monotonic() - at)
            i += per_tick
            time.sleep(max(0.0, begin + (i / per_tick) * tick - time.monotonic()))
    deadline = time.monotonic() + 30
    while set(sent) - set(receiver.arrivals) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join()
    supervisor.stop()
    service.streams.delete(tenant, stream["id"], CLI_ACTOR)
    lags = sorted(receiver.arrivals[k] - v for k, v in sent.items() if k in receiver.arrivals)
    return {"events": len(sent), "arrived": len(lags), "lags": lags, "direct": sorted(direct)}


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), database_url=args.database_url,
            allow_private_destinations=True, checkpoint_interval=10,
        )  # fmt: skip
        service = Trailkeeper.open(settings)
        receiver = Receiver()
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        try:
            run(service, receiver, args)
        finally:
            receiver.shutdown()
            service.close()


def run(service: Trailkeeper, receiver: Receiver, args: argparse.Namespace) -> None:
    service.tenancy.create_tenant("bench")
    store_events(service, args.events, "evt")
    total = args.events + 1  # the tenant's admin token creation is in the log too
    base_rate, base_cpu = baseline(service, receiver, total)
    poll_rate, poll_cpu = poll_loop(service, receiver, total)
    stream_rate, stream_cpu = streamed(service, receiver, total)
    backend = service.store.backend
    print(f"throughput ({backend}, {total:,} events, batches of {BATCH}):")
    print(f"  baseline  plain loop of posts  {base_rate:10,.0f} events/s  "
          f"{base_cpu / total * 1e6:6.1f} µs CPU/event")  # fmt: skip
    print(f"  poll loop API page + post      {poll_rate:10,.0f} events/s  "
          f"{poll_cpu / total * 1e6:6.1f} µs CPU/event")  # fmt: skip
    print(f"  stream    supervisor + runner  {stream_rate:10,.0f} events/s  "
          f"{stream_cpu / total * 1e6:6.1f} µs CPU/event")  # fmt: skip
    print(
        f"  ratio stream/baseline          {stream_rate / base_rate:10.2f}x   "
        f"stream/poll loop {stream_rate / poll_rate:.2f}x   "
        f"target >= 20,000 events/s: {'met' if stream_rate >= 20_000 else 'NOT met'}"
    )
    measured = lag(service, receiver, args.rate, args.seconds)
    lags, direct = measured["lags"], measured["direct"]
    p95 = pct(lags, 0.95)
    print(f"lag at {args.rate} events/s for {args.seconds:.0f} s "
          f"({measured['arrived']}/{measured['events']} arrived):")  # fmt: skip
    print(f"  stream    p50 {pct(lags, 0.5):6.3f} s  p95 {p95:6.3f} s  max {max(lags):6.3f} s")
    print(f"  baseline  direct post p50 {pct(direct, 0.5):6.3f} s  p95 {pct(direct, 0.95):6.3f} s")
    print(
        f"  p95 / 2 s target {p95 / 2:.2f} ({'met' if p95 <= 2 else 'NOT met'}); "
        f"mean {statistics.fmean(lags):.3f} s"
    )


if __name__ == "__main__":
    main()
