"""``python -m bench.retention``: how fast retention archives and deletes expired events,
what it does to ingest meanwhile, and how fast an erasure runs.

For each backend, in one process and one run:

* N bench events received over ``--days`` days of a month that ended long ago (the stores'
  clock is set back while they load: the events and their hashes are genuine), loaded once
  and copied for each run (``retention_seed.py``; ``--reseed`` loads them again);
* baseline: the same rows read raw in the archive's row layout and written as JSONL gzip
  (the archive's work with nothing else: no upload, no read-back, no delete);
* the retention run (``days = 30``): one archive per day into the data dir's object store,
  read back, then deleted (the month's partition, or SQLite's month table, dropped);
  events/s over its wall time, and CPU µs per event of this process, with the wall time
  spent archiving, dropping partitions and deleting batches;
* ingest p95 of 10-event batches on another tenant, idle (before) and during the run;
* erasure of an actor with ``--erase-events`` events, beside one raw ``UPDATE`` of the same
  columns of an identical actor in another tenant.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console

from bench.report import Figure, render, write_json
from bench.retention_load import IngestProbe, p95_ms
from bench.retention_seed import Seed, fresh_copy
from trailkeeper.exports.files import write_export_rows
from trailkeeper.service import Trailkeeper
from trailkeeper.service.audit import CLI_ACTOR
from trailkeeper.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "retention.json"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET = {"sqlite": 30_000, "postgresql": 100_000}
ERASE_TARGET_S = 10.0
ERASE_COLUMNS = (  # what erasure sets to NULL (the stores' ``erase_events`` query)
    "actor_name = NULL, actor_email = NULL, ip = NULL, user_agent = NULL, pii_salt = NULL"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.retention", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=1_000_000, help="expired events")
    parser.add_argument("--days", type=int, default=10, help="days they were received over")
    parser.add_argument("--erase-events", type=int, default=100_000)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--retention-batch", type=int, default=None, help="events per delete transaction, at most"
    )
    parser.add_argument(
        "--sqlite-delete-ms", type=float, default=None,
        help="what one SQLite DELETE statement should take (the chunk sizing's aim)",
    )  # fmt: skip
    parser.add_argument(
        "--reseed",
        action="store_true",
        help="load the events again instead of copying the cached seed",
    )
    return parser.parse_args(argv)


def _old_month() -> datetime:
    """The first day of the month four months back: all of it is past ``days = 30``."""
    month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(4):
        month = (month - timedelta(days=1)).replace(day=1)
    return month + timedelta(days=1)


def archive_baseline(service: Trailkeeper, tenant_id: int, events: int, scratch: Path) -> float:
    """Raw rows in the archive layout written as JSONL gzip: seconds."""
    started = time.perf_counter()
    with (scratch / "baseline.jsonl.gz").open("wb") as out:
        rows = service.store.archive_rows(tenant_id, 0, events + 10, 5_000)
        write_export_rows(rows, "jsonl", "gzip", out)
    seconds = time.perf_counter() - started
    (scratch / "baseline.jsonl.gz").unlink()
    return seconds


@contextmanager
def phases(service: Trailkeeper) -> Iterator[dict[str, list[tuple[float, float]]]]:
    """When the run was in each of its parts (archive days, partition drops, batch
    deletes): perf_counter spans, timed around the calls the retention service makes."""
    spent: dict[str, list[tuple[float, float]]] = defaultdict(list)
    targets: list[tuple[Any, str, str]] = [
        (service.retention._archiver, "archive", "archive"),
        (service.store, "drop_partitions", "drop partitions"),
        (service.store, "remove_events", "batch deletes"),
    ]

    def timed(call: Callable[..., Any], name: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                spent[name].append((started, time.perf_counter()))

        return wrapper

    for owner, attribute, name in targets:
        setattr(owner, attribute, timed(getattr(owner, attribute), name))
    try:
        yield spent
    finally:
        for owner, attribute, _ in targets:
            delattr(owner, attribute)


def retention_figures(
    backend: str, service: Trailkeeper, args: argparse.Namespace, console: Console
) -> list[Figure]:
    tenant = service.tenancy.tenant("bench")
    service.retention.update(tenant, {"days": 30}, dict(CLI_ACTOR), source="cli")
    base = archive_baseline(service, tenant.id, args.events, service.settings.data_dir)
    with IngestProbe(service, "live") as idle:
        time.sleep(args.idle_seconds)
    cpu, started = time.process_time(), time.perf_counter()
    with IngestProbe(service, "live") as during, phases(service) as spent:
        report = service.retention.run(tenant)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert report is not None
    assert report.error is None, report
    removed = report.removed_events
    rate, base_rate = removed / wall, args.events / base
    parts = ", ".join(
        f"{name} {sum(end - begin for begin, end in spans):.2f} s "
        f"(ingest p95 {p95_ms(during.within(spans)):.1f} ms)"
        for name, spans in spent.items()
    )
    note = (f"{removed:,} removed, {len(report.archives)} archives, {wall:.2f} s ({parts}); "
            f"{cpu / removed * 1e6:.1f} µs CPU/event in this process")  # fmt: skip
    console.print(f"{backend}: retention {rate:,.0f} ev/s; baseline {base_rate:,.0f}; {note}")
    p95_idle, p95_during = idle.p95_ms(), during.p95_ms()
    worst = max(during.latencies, default=0.0) * 1000
    return [
        Figure(backend, f"retention, {args.events:,} expired (archive + delete)", rate, "ev/s",
               base_rate, "read + JSONL gzip", "retention/baseline",
               f"≥ {TARGET[backend]:,}", rate >= TARGET[backend], note=note),
        Figure(backend, "ingest p95 during the run", p95_during, "ms", p95_idle, "idle p95",
               "during/idle", "≤ 2× idle", p95_during <= 2 * p95_idle,
               note=f"{len(during.latencies)} batches during (max {worst:.1f} ms), "
                    f"{len(idle.latencies)} idle"),
    ]  # fmt: skip


def erasure_figure(
    backend: str, service: Trailkeeper, args: argparse.Namespace, console: Console
) -> Figure:
    twin = service.tenancy.tenant("erase-twin").id
    started = time.perf_counter()
    raw = "UPDATE events SET {} WHERE tenant_id = {p} AND actor_id = {p}"
    if backend == "postgresql":
        assert service.settings.database_url is not None
        with psycopg.connect(service.settings.database_url) as conn:
            conn.execute(raw.format(ERASE_COLUMNS, p="%s"), (twin, "u_big"))
    else:
        import sqlite3

        with sqlite3.connect(service.settings.sqlite_path) as conn:
            for (table,) in conn.execute(  # each month table: through the view an UPDATE
                # goes row by row (its trigger)
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'events_p[0-9]*'"
            ).fetchall():
                sql = raw.format(ERASE_COLUMNS, p="?").replace("events", f'"{table}"', 1)
                conn.execute(sql, (twin, "u_big"))
    base = time.perf_counter() - started
    tenant = service.tenancy.tenant("erase")
    cpu, started = time.process_time(), time.perf_counter()
    job = service.erasures.request(tenant, {"actor_id": "u_big"}, "tok_bench", "bench")
    service.erasures.run_all()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    done = service.erasures.get(tenant, job["id"])
    assert done["events_erased"] == args.erase_events, done
    note = f"{cpu / args.erase_events * 1e6:.1f} µs CPU/event in this process"
    console.print(f"{backend}: erasure {wall:.2f} s; raw UPDATE {base:.2f} s; {note}")
    return Figure(backend, f"erasure, actor with {args.erase_events:,} events", wall, "s", base,
                  "one raw UPDATE", "erasure/raw", f"≤ {ERASE_TARGET_S:g} s",
                  wall <= ERASE_TARGET_S, note=note)  # fmt: skip


def run_backend(backend: str, args: argparse.Namespace, console: Console) -> list[Figure]:
    seed = Seed(backend, args.events, args.days, args.erase_events, _old_month())
    copy = fresh_copy(seed, args.admin_url, console, reseed=args.reseed)
    console.print(f"{backend}: deployment copied from the seed in {copy.seconds:.1f} s")
    if args.sqlite_delete_ms is not None:
        from trailkeeper.storage.sqlite import retention as sqlite_retention

        sqlite_retention._CHUNK_SECONDS = args.sqlite_delete_ms / 1000
    batch = {} if args.retention_batch is None else {"retention_batch": args.retention_batch}
    service = Trailkeeper.open(
        Settings(data_dir=copy.data_dir, database_url=copy.database_url, **batch)
    )
    try:
        figures = retention_figures(backend, service, args, console)
        figures.append(erasure_figure(backend, service, args, console))
        return figures
    finally:
        service.close()
        copy.drop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    figures: list[Figure] = []
    for backend in backends:
        figures.extend(run_backend(backend, args, console))
    render(
        figures, console, f"retention of {args.events:,} events, erasure of {args.erase_events:,}"
    )
    meta = {"events": args.events, "days": args.days, "erase_events": args.erase_events,
            "cpus": os.cpu_count(), "when": datetime.now(UTC).isoformat(),
            "note": "machine shared with other work: see each figure's note"}  # fmt: skip
    write_json(args.output, meta, figures, {})
    return 0 if all(f.passed is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
