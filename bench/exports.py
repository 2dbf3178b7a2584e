"""``python -m bench.exports``: export throughput and worker memory, per format.

For each backend: load N events whose ``occurred_at`` fall in the last 29 complete
days (so one export window holds them all), then, with a real ``trailkeeper
worker`` process running the jobs, request one export per format and time each
job from its ``started_at`` to its ``completed_at`` (claim, stream, checkpoint,
manifest, store). Baseline, same run, same database: a plain SELECT of the same
rows, every column, serialized with orjson one row per line into a file. The
worker's RSS is sampled every 0.2 s throughout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.data import make_corpus
from bench.memory import MiB, RssSampler
from bench.report import Figure, render, write_json
from trailkeeper.events.batch import drafts_from_events
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "exports.json"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET = {"jsonl": 150_000, "csv": 100_000, "parquet": 150_000}
RSS_LIMIT_MB = 200
DAYS = 29


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep data dirs and databases")
    return parser.parse_args(argv)


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("trailkeeper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "trailkeeper.cli"]


def _events(count: int, first_day: date) -> Iterator[list[dict[str, Any]]]:
    """The corpus's realistic events, spread evenly over the export window."""
    corpus = make_corpus(count)
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    step = (timedelta(days=DAYS) - timedelta(hours=1)) / count  # ends yesterday 23:00
    index = 0
    for body in corpus.bodies:
        batch = orjson.loads(body)["events"]
        for event in batch:
            event["occurred_at"] = (start + step * index).isoformat()
            index += 1
        yield batch


def _baseline(settings: Settings, tenant_id: int, out: Path) -> tuple[int, float]:
    """A plain SELECT of the rows an export writes, serialized with orjson."""
    columns = (
        "id, seq, action, category, occurred_at, received_at, actor_id, actor_type, "
        "actor_name, actor_email, resource_type, resource_id, resource_name, source, ip, "
        "user_agent, changes, run, metadata, pii, leaf_hash, pii_salt"
    )
    sql = f"SELECT {columns} FROM events WHERE tenant_id = {{p}} ORDER BY seq"
    rows = 0
    started = time.perf_counter()
    with out.open("wb") as sink:
        if settings.database_url is None:
            conn = sqlite3.connect(settings.sqlite_path)
            cursor = conn.execute(sql.format(p="?"), (tenant_id,))
            batches: Iterator[list[Any]] = iter(lambda: cursor.fetchmany(5000), [])
            for batch in batches:
                for row in batch:
                    sink.write(orjson.dumps(row, default=bytes.hex) + b"\n")
                rows += len(batch)
            conn.close()
        else:
            with (
                psycopg.connect(settings.database_url) as pg,
                pg.cursor(name="baseline") as named,
            ):
                named.itersize = 5000
                named.execute(sql.format(p="%s"), (tenant_id,))
                for row in named:
                    sink.write(orjson.dumps(row, default=_pg_default) + b"\n")
                    rows += 1
    return rows, time.perf_counter() - started


def _pg_default(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    raise TypeError


def run_backend(backend: str, args: argparse.Namespace, console: Console) -> list[Figure]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"trailkeeper-bench-exports-{backend}-"))
    db_name = f"bench_tk_exports_{os.getpid()}"
    database_url = None
    if backend == "postgresql":
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
            conn.execute(f'CREATE DATABASE "{db_name}"')
        database_url = args.admin_url.rpartition("/")[0] + "/" + db_name
    settings = Settings(data_dir=data_dir, database_url=database_url, export_daily_quota=1000)
    worker: subprocess.Popen[bytes] | None = None
    try:
        service = Trailkeeper.open(settings)
        token = service.tenancy.create_tenant("bench")["admin_token"]
        principal = service.tenancy.authenticate(f"Bearer {token}")
        today = datetime.now(UTC).date()
        first_day = today - timedelta(days=DAYS)
        with _progress(console) as progress:
            task = progress.add_task(f"{backend}: load", total=args.events)
            for batch in _events(args.events, first_day):
                service.store.append(principal.tenant.id, drafts_from_events(batch))
                progress.advance(task, len(batch))
        service.integrity.sync(principal.tenant.id)
        rows, seconds = _baseline(settings, principal.tenant.id, data_dir / "baseline.jsonl")
        baseline = rows / seconds
        console.print(f"{backend}: baseline SELECT + orjson: {rows:,} rows in {seconds:.2f} s")

        env = {**os.environ, **settings.to_environment()}
        log = (data_dir / "worker.log").open("wb")
        worker = subprocess.Popen(
            [*_cli(), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        figures: list[Figure] = []
        with RssSampler(worker.pid) as rss:
            for fmt in ("jsonl", "csv", "parquet"):
                rss.phase = fmt
                yesterday = today - timedelta(days=1)
                body = {"format": fmt, "start": first_day.isoformat(), "end": yesterday.isoformat()}
                view = service.exports.request(principal, body, "http://127.0.0.1")
                record = _wait(service, principal.tenant.id, view["id"])
                took = (record.completed_at - record.started_at).total_seconds()
                rate = (record.event_count or 0) / took
                figures.append(
                    Figure(
                        backend, f"export {fmt}, {record.event_count:,} events", rate,
                        "ev/s", baseline, "SELECT+orjson", "export/baseline",
                        f"≥ {TARGET[fmt]:,}", rate >= TARGET[fmt],
                        note=f"{took:.2f} s, {(record.bytes or 0) / MiB:,.0f} MiB",
                    )
                )  # fmt: skip
        peak = rss.max_rss / MiB
        phases = ", ".join(f"{k} {v / MiB:,.0f}" for k, v in rss.max_by_phase.items())
        figures.append(
            Figure(
                backend, "worker RSS, max during exports", peak, "MB", None, "", "",
                f"≤ {RSS_LIMIT_MB}", peak <= RSS_LIMIT_MB, note=f"max MB: {phases}",
            )
        )  # fmt: skip
        service.close()
        return figures
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGINT)
            worker.wait(30)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
            if database_url is not None:
                with psycopg.connect(args.admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def _wait(service: Trailkeeper, tenant_id: int, export_id: str) -> Any:
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        record = service.store.get_export(tenant_id, export_id)
        if record is not None and record.status in ("succeeded", "failed"):
            if record.status == "failed":
                raise RuntimeError(f"export {export_id} failed: {record.error}")
            return record
        time.sleep(0.2)
    raise RuntimeError(f"export {export_id} did not finish")


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    figures: list[Figure] = []
    for backend in backends:
        figures.extend(run_backend(backend, args, console))
    render(figures, console, f"exports of {args.events:,} events")
    meta = {"events": args.events, "cpus": os.cpu_count(), "when": datetime.now(UTC).isoformat()}
    write_json(args.output, meta, figures, {})
    return 0 if all(f.passed is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
