"""``python -m bench.ingest_cpu``: CPU time per event of the ingest path, in-process.

On a machine shared with other benchmarks, events/s over HTTP moves with everybody else's
load. This measures what one ingest costs this process instead: ``drafts_from_body``
(parse, validate, normalize, hash) and ``store.append`` (sequence, insert, commit), one
thread, process CPU time (user + system, so SQLite's own work and its fsync calls count;
a PostgreSQL server's work does not), each batch of the bench corpus in turn into a fresh
store. ``--rounds`` repeats the whole run and keeps the best figure of each step.

Once the corpus is made, the heap is settled as ``serve`` settles it after startup
(:func:`trailkeeper.heap.settle_heap`), so the collector walks what a server's would;
``--unsettled`` leaves it as it was (the figures before 2026-12-07 night).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.data import make_corpus
from bench.server import _with_database
from trailkeeper.events.batch import drafts_from_body
from trailkeeper.heap import settle_heap
from trailkeeper.storage.postgres import PostgresStore
from trailkeeper.storage.sqlite import SQLiteStore

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
SCRATCH_DB = "bench_tk_cpu"


def _fresh_store(backend: str, admin_url: str, data_dir: Path) -> SQLiteStore | PostgresStore:
    if backend == "sqlite":
        return SQLiteStore(data_dir / "trailkeeper.sqlite3")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
    return PostgresStore(_with_database(admin_url, SCRATCH_DB))


def one_round(
    backend: str, bodies: list[bytes], events: int, admin_url: str
) -> tuple[float, float]:
    """(drafts, append) CPU µs per event over every body, into a fresh store."""
    drafts_cpu = append_cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="trailkeeper-cpu-") as data_dir:
        store = _fresh_store(backend, admin_url, Path(data_dir))
        try:
            store.migrate()
            tenant = store.create_tenant("bench", b"not a secret")
            for body in bodies:
                started = time.process_time()
                drafts = drafts_from_body(body)
                middle = time.process_time()
                store.append(tenant.id, drafts)
                drafts_cpu += middle - started
                append_cpu += time.process_time() - middle
        finally:
            store.close()
    if backend == "postgresql":
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
    return drafts_cpu / events * 1e6, append_cpu / events * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_cpu", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument(
        "--unsettled", action="store_true", help="leave the heap unfrozen (as before 12-07)"
    )
    args = parser.parse_args(argv)
    corpus = make_corpus(args.events)
    if not args.unsettled:
        settle_heap()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        rounds = [
            one_round(backend, corpus.bodies, corpus.events, args.admin_url)
            for _ in range(args.rounds)
        ]
        drafts, append = min(r[0] for r in rounds), min(r[1] for r in rounds)
        print(
            f"{backend:10s} {corpus.events:,} events, best of {args.rounds}: "
            f"drafts {drafts:.1f} µs/event, append {append:.1f} µs/event, "
            f"total {drafts + append:.1f} µs/event (≤ {1e6 / (drafts + append):,.0f}/s per core)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
