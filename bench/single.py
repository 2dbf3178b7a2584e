"""``python -m bench.single``: single-event requests (a batch of one) from concurrent clients.

Most producers send one audit event per user action, so this is the path most of them
take. ``--clients`` threads (default 8), each with its own keep-alive connection, post
one event per request (``{"events": [event]}``) to a real ``trailkeeper serve``; every
``201`` counts. The client writes pre-built request bytes on a plain socket and reads the
response by its ``Content-Length``: a few µs of Python per request, so that the client,
which shares the machine's cores with the server, takes as little of them as it can
(an ``httpx`` client costs ~150 µs of CPU per request, as much as the server's work).

Printed: events/s, latency p50/p95/p99 (send to parsed status line and body), the server's
CPU per request, and the baseline from the same run: the same rows inserted one per
fsync'd transaction on one connection (what a commit per event costs the database alone).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from bench.cpu import CpuMeter
from bench.data import make_corpus
from bench.db import open_raw
from bench.reads import percentile
from bench.report import Figure, render, write_json
from bench.server import HOST, Deployment

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
RESULTS = Path(__file__).resolve().parent / "results" / "single.json"
TARGET_RATE = 3_000
TARGET_P95_MS = 10.0
RAW_ROWS = 2_000  # single-row commits for the baseline (each one an fsync)


@dataclass(slots=True)
class SingleResult:
    events: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def ms(self, pct: float) -> float:
        return percentile(self.latencies, pct) * 1000 if self.latencies else 0.0


def _request(port: int, token: str, body: bytes) -> bytes:
    head = (
        f"POST /v1/events HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _response(sock: socket.socket, pending: bytearray) -> tuple[int, bytes]:
    """(status, body) of the next response on ``sock``; ``pending`` keeps extra bytes."""
    while b"\r\n\r\n" not in pending:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        pending += chunk
    end = pending.index(b"\r\n\r\n") + 4
    head = bytes(pending[:end]).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(pending) < end + length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        pending += chunk
    body = bytes(pending[end : end + length])
    del pending[: end + length]
    return status, body


def send_singles(deployment: Deployment, bodies: list[bytes], clients: int) -> SingleResult:
    """Post every body once, ``clients`` connections at a time."""
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))
    result = SingleResult()
    requests = [_request(deployment.port, deployment.token, b) for b in bodies]

    # one after another, not in a burst: a burst lands on one of serve --processes N's
    # processes (bench/ingest.py)
    sockets = []
    for _ in range(clients):
        sock = socket.create_connection((HOST, deployment.port))
        sock.sendall(f"GET /readyz HTTP/1.1\r\nHost: {HOST}:{deployment.port}\r\n\r\n".encode())
        _response(sock, bytearray())  # accepted (by some process) before the next one opens
        sockets.append(sock)

    def worker(sock: socket.socket) -> None:
        latencies: list[float] = []
        stored = 0
        pending = bytearray()
        with sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    break
                started = time.perf_counter()
                sock.sendall(requests[index])
                status, body = _response(sock, pending)
                elapsed = time.perf_counter() - started
                if status == 201:
                    stored += 1
                    latencies.append(elapsed)
                else:
                    with lock:
                        result.errors.append(f"{status} {body[:200]!r}")
        with lock:
            result.events += stored
            result.latencies.extend(latencies)

    threads = [
        threading.Thread(target=worker, args=(sock,), name=f"single-{n}")
        for n, sock in enumerate(sockets)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def run_backend(backend: str, args: argparse.Namespace, console: Console) -> list[Figure]:
    corpus = make_corpus(args.events, 1)
    warmup = corpus.bodies[: args.clients * 20]
    with Deployment(backend, args.admin_url, processes=args.processes) as deployment:
        console.rule(f"[bold]{backend}")
        send_singles(deployment, warmup, args.clients)  # connections, caches, first pages
        cpu = CpuMeter(deployment.pid)
        with cpu.phase("single"):
            result = send_singles(deployment, corpus.bodies, args.clients)
        raw = open_raw(
            backend,
            data_dir=deployment.data_dir,
            database_url=deployment.database_url,
            tenant=deployment.tenant.name if deployment.tenant else "bench",
        )
        try:
            stored = raw.count()
            raw.create_clone()
            seconds, rows = 0.0, 0
            try:
                for batch in raw.stored_batches(1):
                    seconds += raw.insert_clone(batch)
                    rows += 1
                    if rows >= RAW_ROWS:
                        break
            finally:
                raw.drop_clone()
        finally:
            raw.close()
    use = cpu.phases["single"]
    server_us = use.server * use.seconds / max(1, result.events) * 1e6
    raw_rate = rows / seconds if seconds else 0.0
    p50, p95, p99 = result.ms(50), result.ms(95), result.ms(99)
    console.print(
        f"{result.events:,} single-event requests in {result.seconds:.1f} s "
        f"({result.rate:,.0f}/s), p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, "
        f"{len(result.errors)} errors; {stored:,} events stored; server CPU "
        f"{server_us:.0f} µs/request; cores: server {use.server:.2f}, bench {use.bench:.2f}, "
        f"other {use.other:.2f}; raw single-row commits {raw_rate:,.0f}/s"
    )
    by_process = ""
    if args.processes > 1:  # which processes got the connections
        by_process = "; server cores by process " + " + ".join(f"{c:.2f}" for c in use.by_process)
        console.print(by_process[2:])
    for error in result.errors[:3]:
        console.print(f"[red]error:[/] {error}")
    ok = result.rate >= TARGET_RATE and p95 <= TARGET_P95_MS and not result.errors
    return [
        Figure(
            backend,
            f"single-event requests, {args.clients} clients",
            result.rate,
            "events/s",
            raw_rate,
            "raw 1-row commits",
            "server/raw",
            f"≥ {TARGET_RATE:,}, p95 ≤ {TARGET_P95_MS:.0f} ms",
            ok,
            f"p50 {p50:.1f} / p95 {p95:.1f} / p99 {p99:.1f} ms; server CPU {server_us:.0f} "
            f"µs/request; cores: server {use.server:.2f}, bench {use.bench:.2f}, "
            f"other {use.other:.2f}{by_process}",
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.single", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 170)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    figures: list[Figure] = []
    for backend in backends:
        figures += run_backend(backend, args, console)
    meta = {
        "events": args.events,
        "clients": args.clients,
        "processes": args.processes,
        "loadavg": os.getloadavg(),
    }
    write_json(args.output, meta, figures, {})
    render(figures, console, f"single-event requests — {args.events:,} events")
    return 0 if all(f.passed is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
