"""``python -m bench.verify``: how fast ``trailkeeper verify`` re-checks a whole log.

For each backend: load N realistic events (``bench.data``) into a fresh deployment through the
store, integrating and signing a checkpoint every ``--checkpoint-every`` events and at the end,
so that checkpoints end inside the chunks verify cuts the log into. Then, in the same run:

* baseline: a plain SELECT of the same rows, every column verify reads, in ``seq`` order
  (a server-side cursor on PostgreSQL), rows only fetched;
* ``trailkeeper verify --tenant bench --json`` as a subprocess, default workers: the rate the
  command reports (rows re-checked over the time of the check) and over the whole command's
  wall time (interpreter start, worker start, database connections included);
* the same with ``--workers 0`` (everything in one process), for the gain from the workers;
* one row in the middle altered with raw SQL: verify must exit 1 naming that seq.

Each verify figure notes how many cores the machine kept busy meanwhile and how many the
command used (``/proc/stat`` and the children's rusage): on a shared machine, what else ran
shows there (for PostgreSQL, the database server's share too).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.data import make_corpus
from bench.report import Figure, render, write_json
from trailkeeper.events.batch import drafts_from_events
from trailkeeper.events.leaves import ROW_COLUMNS
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "verify.json"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET = 200_000
FETCH = 5000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.verify", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--checkpoint-every", type=int, default=250_000, help="events between checkpoints"
    )
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep data dirs and databases")
    args = parser.parse_args(argv)
    if args.events < 2 or args.checkpoint_every < 1:
        parser.error("--events must be ≥ 2 and --checkpoint-every ≥ 1")
    return args


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("trailkeeper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "trailkeeper.cli"]


def load(service: Trailkeeper, events: int, every: int, console: Console, backend: str) -> int:
    """The corpus, appended batch by batch; a checkpoint every ``every`` events."""
    tenant = service.tenancy.tenant("bench")
    signed = 0
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    ) as progress:  # fmt: skip
        task = progress.add_task(f"{backend}: load", total=events)
        for body in make_corpus(events).bodies:
            batch = orjson.loads(body)["events"]
            service.store.append(tenant.id, drafts_from_events(batch))
            progress.advance(task, len(batch))
            signed += len(batch)
            if signed >= every:
                service.integrity.sync(tenant.id)
                signed = 0
    service.integrity.sync(tenant.id)
    return tenant.id


def baseline(settings: Settings, tenant_id: int) -> tuple[int, float]:
    """A plain SELECT of the rows and columns verify reads, in seq order."""
    columns = ", ".join(ROW_COLUMNS)
    rows = 0
    started = time.perf_counter()
    if settings.database_url is None:
        conn = sqlite3.connect(settings.sqlite_path)
        cursor = conn.execute(
            f"SELECT {columns} FROM events WHERE tenant_id = ? ORDER BY seq, pk", (tenant_id,)
        )
        while batch := cursor.fetchmany(FETCH):
            rows += len(batch)
        conn.close()
    else:
        with psycopg.connect(settings.database_url) as pg, pg.cursor(name="baseline") as named:
            named.itersize = FETCH
            named.execute(
                f"SELECT {columns} FROM events WHERE tenant_id = %s ORDER BY seq, received_at",
                (tenant_id,),
            )
            while batch := named.fetchmany(FETCH):
                rows += len(batch)
    return rows, time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class Run:
    code: int
    report: dict[str, Any]
    wall: float
    cores_busy: float
    """Cores the whole machine kept busy meanwhile (verify, the database, anything else)."""
    cores_verify: float
    """Cores the verify command and its workers used."""

    @property
    def rate(self) -> float:
        return float(self.report["events"]) / float(self.report["seconds"])

    @property
    def cpu_per_row(self) -> float:
        """CPU µs per row the command and its workers used (start-up included): less moved
        than the rate by what else the machine runs."""
        return self.cores_verify * self.wall / max(1, int(self.report["events"])) * 1e6

    @property
    def note(self) -> str:
        return (
            f"{self.report['seconds']:.2f} s (whole command {self.wall:.2f} s); cores busy "
            f"{self.cores_busy:.2f}, of which verify {self.cores_verify:.2f}; verify CPU "
            f"{self.cpu_per_row:.1f} µs/row"
        )


def _machine_ticks() -> int:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return user + nice + system + irq + softirq + steal


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def verify(settings: Settings, *extra: str) -> Run:
    """``trailkeeper verify --tenant bench --json``, and who used the CPUs meanwhile."""
    env = {**os.environ, **settings.to_environment()}
    ticks, children, started = _machine_ticks(), _children_seconds(), time.perf_counter()
    done = subprocess.run(
        [*_cli(), "verify", "--tenant", "bench", "--json", *extra],
        env=env,
        capture_output=True,
        check=False,
    )
    wall = time.perf_counter() - started
    busy = (_machine_ticks() - ticks) / os.sysconf("SC_CLK_TCK") / wall
    own = (_children_seconds() - children) / wall
    if done.returncode not in (0, 1):
        raise RuntimeError(f"verify failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    [report] = orjson.loads(done.stdout)["tenants"]
    return Run(done.returncode, report, wall, busy, own)


def alter_middle_row(settings: Settings, tenant_id: int, seq: int) -> None:
    """Change the row's ``source`` (to ``api``, or to ``web`` where it is ``api`` already)."""
    sql = (
        "UPDATE events SET source = CASE WHEN source = 'api' THEN 'web' ELSE 'api' END "
        "WHERE tenant_id = {p} AND seq = {p}"
    )
    if settings.database_url is None:
        conn = sqlite3.connect(settings.sqlite_path, isolation_level=None)
        conn.execute(sql.format(p="?"), (tenant_id, seq))
        conn.close()
    else:
        with psycopg.connect(settings.database_url, autocommit=True) as pg:
            pg.execute(sql.format(p="%s"), (tenant_id, seq))


def run_backend(backend: str, args: argparse.Namespace, console: Console) -> list[Figure]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"trailkeeper-bench-verify-{backend}-"))
    db_name = f"bench_tk_verify_{os.getpid()}"
    database_url = None
    if backend == "postgresql":
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
            conn.execute(f'CREATE DATABASE "{db_name}"')
        database_url = args.admin_url.rpartition("/")[0] + "/" + db_name
    settings = Settings(data_dir=data_dir, database_url=database_url)
    try:
        service = Trailkeeper.open(settings)
        try:
            service.tenancy.create_tenant("bench")
            tenant_id = load(service, args.events, args.checkpoint_every, console, backend)
        finally:
            service.close()
        rows, seconds = baseline(settings, tenant_id)
        select = rows / seconds
        console.print(f"{backend}: baseline SELECT: {rows:,} rows in {seconds:.2f} s")
        figures = []
        for label, extra in (("verify", ()), ("verify --workers 0", ("--workers", "0"))):
            run = verify(settings, *extra)
            if run.code != 0 or run.report["events"] != rows:
                raise RuntimeError(f"{label} did not find the log intact: {run.report}")
            console.print(f"{backend}: {label}: {run.rate:,.0f} ev/s; {run.note}")
            figures.append(
                Figure(
                    backend, f"{label}, {rows:,} events", run.rate, "ev/s", select, "SELECT",
                    "verify/select", f"≥ {TARGET:,}" if not extra else "",
                    run.rate >= TARGET if not extra else None, note=run.note,
                )
            )  # fmt: skip
        bad = rows // 2
        alter_middle_row(settings, tenant_id, bad)
        run = verify(settings)
        first = run.report["first_bad_seq"]
        figures.append(
            Figure(
                backend, f"verify, seq {bad:,} altered", run.rate, "ev/s", select, "SELECT",
                "verify/select", f"exit 1, first bad seq {bad:,}",
                run.code == 1 and first == bad,
                note=f"exit {run.code}, first bad seq {first}; {run.note}",
            )
        )  # fmt: skip
        return figures
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
            if database_url is not None:
                with psycopg.connect(args.admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    figures: list[Figure] = []
    for backend in backends:
        figures.extend(run_backend(backend, args, console))
    render(figures, console, f"trailkeeper verify over {args.events:,} events")
    meta = {
        "events": args.events,
        "checkpoint_every": args.checkpoint_every,
        "cpus": os.cpu_count(),
        "when": datetime.now(UTC).isoformat(),
    }
    write_json(args.output, meta, figures, {})
    return 0 if all(f.passed is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
