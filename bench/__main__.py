"""``python -m bench``: ingest, list and paging benchmarks against a real server.

For each backend: start ``trailkeeper serve`` on a free loopback port (fresh data dir; for
PostgreSQL a scratch database), ingest N events over HTTP, insert the same rows raw into a clone
of the events table (baseline), time first pages of ``GET /v1/events`` with one filter against the
same SELECT issued directly, page through everything, and sample the server's RSS throughout.
See docs/benchmarks.md for what each figure means.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.cpu import CpuMeter
from bench.data import Corpus, make_corpus
from bench.db import open_raw
from bench.ingest import ingest_http, insert_raw
from bench.memory import MiB, RssSampler
from bench.reads import measure_list, page_everything
from bench.report import Figure, render, write_json
from bench.server import Deployment

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
INGEST_TARGET = {"sqlite": 25_000, "postgresql": 15_000}
LIST_TARGET_MS = {"actor": 20.0, "action": 20.0, "resource": 20.0, "day": 20.0, "q": 100.0}
LIST_LABEL = {
    "actor": "list p95, actor=",
    "action": "list p95, action=x.*",
    "resource": "list p95, resource_type+resource_id",
    "day": "list p95, start..end = 1 day",
    "q": "list p95, q= (name/email search)",
}
RSS_LIMIT_MB = 300
NOISY_CORES = 0.25  # average cores used by other processes before a phase is called noisy


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=1_000_000, help="events to ingest")
    parser.add_argument("--quick", action="store_true", help="100,000 events (overrides --events)")
    parser.add_argument("--batch-size", type=int, default=1000, help="events per POST (≤ 1000)")
    parser.add_argument("--clients", type=int, default=3, help="concurrent ingest connections")
    parser.add_argument("--requests", type=int, default=250, help="list requests per filter kind")
    parser.add_argument(
        "--admin-url",
        default=DEFAULT_ADMIN_URL,
        help="PostgreSQL URL used to CREATE/DROP the scratch database bench_tk_<pid>",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument(
        "--processes", type=int, default=1, help="serve --processes N (default 1, as shipped)"
    )
    parser.add_argument("--keep", action="store_true", help="keep data dirs and databases")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="PostgreSQL: do not ANALYZE before the reads (as if autovacuum had not run yet)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.events = 100_000
    if not 1 <= args.batch_size <= 1000:
        parser.error("--batch-size must be 1 to 1000")
    if args.events < args.batch_size or args.requests < 1 or args.clients < 1:
        parser.error("--events must be ≥ --batch-size; --requests and --clients ≥ 1")
    return args


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def run_backend(
    backend: str, corpus: Corpus, args: argparse.Namespace, console: Console
) -> tuple[list[Figure], dict[str, Any]]:
    """All measurements for one backend, against one fresh deployment."""
    figures: list[Figure] = []
    console.rule(f"[bold]{backend}")
    with Deployment(
        backend, args.admin_url, keep=args.keep, processes=args.processes
    ) as deployment:
        console.print(
            f"server pid {deployment.pid} on {deployment.base_url}, {deployment.data_dir}"
        )
        raw = open_raw(
            backend,
            data_dir=deployment.data_dir,
            database_url=deployment.database_url,
            tenant=deployment.tenant.name if deployment.tenant else "bench",
        )
        cpu = CpuMeter(deployment.pid)
        try:
            with RssSampler(deployment.pid) as rss, _progress(console) as progress:
                idle = rss.sample()
                idle_largest = rss.max_process  # only idle samples so far
                rss.phase = "ingest"
                with cpu.phase("ingest"):
                    ingest = ingest_http(deployment, corpus, args.clients, progress)
                console.print(
                    f"ingest over HTTP: {ingest.events:,} events in {ingest.seconds:.1f} s "
                    f"({ingest.rate:,.0f}/s), {len(ingest.errors)} failed batches"
                )
                rss.phase = "raw_insert"
                with cpu.phase("raw_insert"):
                    baseline = insert_raw(raw, args.batch_size, progress)
                console.print(
                    f"raw inserts: {baseline.events:,} rows in {baseline.seconds:.1f} s "
                    f"({baseline.rate:,.0f}/s)"
                )
                rss.phase = "reads"
                statistics = raw.statistics(analyze=not args.no_analyze)
                with cpu.phase("reads"):
                    latencies = measure_list(
                        deployment, raw, corpus.values, args.requests, 7, progress
                    )
                console.print(
                    "list p95 (HTTP/raw ms): "
                    + ", ".join(
                        f"{r.kind} {r.summary()['http_ms']['p95']:.1f}/"
                        f"{r.summary()['raw_ms']['p95']:.1f}"
                        for r in latencies
                    )
                )
                rss.phase = "paging"
                with cpu.phase("paging"):
                    paging = page_everything(deployment, raw, progress)
                rss.sample()
                console.print(
                    f"paging: {paging.events:,} events in {paging.seconds:.1f} s; "
                    f"max RSS {rss.max_rss / MiB:.0f} MB summed, largest process "
                    f"{rss.max_process / MiB:.0f} MB, PSS summed {rss.max_pss / MiB:.0f} MB"
                )
        finally:
            raw.close()
        log_tail = deployment.log_tail(5)

    for name, use in cpu.phases.items():
        if use.other > NOISY_CORES:
            console.print(
                f"[yellow]warning:[/] other processes kept {use.other:.2f} cores busy during "
                f"{name}; this machine has {os.cpu_count()} — figures for it are pessimistic"
            )
    target = INGEST_TARGET[backend]
    used = cpu.phases["ingest"]
    server_us = used.server * used.seconds / max(1, ingest.events) * 1e6
    ingest_note = (
        f"{args.clients} clients, batches of {corpus.batch_size}; server CPU {server_us:.0f} µs"
        f"/event (≤ {1e6 / max(server_us, 1e-9):,.0f}/s per core); cores used: server "
        f"{used.server:.2f}, bench {used.bench:.2f}, other processes {used.other:.2f}"
    )
    if args.processes > 1:  # the clients' connections land on processes at random
        ingest_note += "; server cores by process " + " + ".join(
            f"{c:.2f}" for c in used.by_process
        )
    if ingest.errors or ingest.events != corpus.events:
        ingest_note += f"; {len(ingest.errors)} failed batches, {ingest.events:,} stored"
    figures.append(
        Figure(
            backend,
            "ingest over HTTP",
            ingest.rate,
            "events/s",
            baseline.rate,
            "raw inserts",
            "server/raw",
            f"≥ {target:,}",
            ingest.rate >= target and not ingest.errors,
            ingest_note,
        )
    )
    for result in latencies:
        summary = result.summary()
        p95, raw_p95 = summary["http_ms"]["p95"], summary["raw_ms"]["p95"]
        note = f"{summary['requests']} req, p50 {summary['http_ms']['p50']:.1f} ms"
        if result.mismatches or result.errors:
            note += f"; {result.mismatches} results differ from raw, {len(result.errors)} errors"
        figures.append(
            Figure(
                backend,
                LIST_LABEL[result.kind],
                p95,
                "ms",
                raw_p95,
                "raw SELECT p95",
                "HTTP/raw",
                f"≤ {LIST_TARGET_MS[result.kind]:.0f} ms",
                p95 <= LIST_TARGET_MS[result.kind] and not result.errors,
                note,
            )
        )
    # With serve --processes N each process has its own heap: the limit is a process's, and
    # the sum (what the machine gives the whole server) is printed beside it.
    several = args.processes > 1
    max_rss = (rss.max_process if several else rss.max_rss) / MiB
    phases = {k: round(v / MiB, 1) for k, v in rss.max_by_phase.items()}
    figures.append(
        Figure(
            backend,
            "server max RSS, largest process"
            if several
            else "server max RSS (ingest + reads + paging)",
            max_rss,
            "MB",
            (idle_largest if several else idle) / MiB,
            "largest process idle" if several else "idle after start",
            "max/idle",
            f"< {RSS_LIMIT_MB} MB",
            max_rss < RSS_LIMIT_MB,
            ("summed by phase: " if several else "by phase: ")
            + ", ".join(f"{k} {v:.0f}" for k, v in phases.items())
            + (
                f"; {args.processes + 1} processes: summed {rss.max_rss / MiB:.0f} MB, "
                f"PSS summed {rss.max_pss / MiB:.0f} MB"
                if several
                else ""
            ),
        )
    )
    paging_ok = paging.events == paging.expected and not paging.errors
    figures.append(
        Figure(
            backend,
            "page through everything, limit=999",
            paging.rate,
            "events/s",
            paging.raw_rate,
            "raw keyset SELECT",
            "HTTP/raw",
            f"all {paging.expected:,} events",
            paging_ok,
            f"{paging.pages:,} pages in {paging.seconds:.1f} s, slowest page "
            f"{paging.max_page_ms:.0f} ms; {paging.events:,} events seen",
        )
    )
    details = {
        "ingest": {
            "events": ingest.events,
            "requests": ingest.requests,
            "seconds": round(ingest.seconds, 3),
            "clients": ingest.clients,
            "batch_ms_p50": round(_pct(ingest.latencies, 50) * 1000, 1),
            "batch_ms_p95": round(_pct(ingest.latencies, 95) * 1000, 1),
            "errors": ingest.errors[:5],
            "server_cpu_us_per_event": round(server_us, 1),
            "raw_events": baseline.events,
            "raw_seconds": round(baseline.seconds, 3),
        },
        "list": {r.kind: r.summary() for r in latencies},
        "rss_mb": {
            "idle": round(idle / MiB, 1),
            "max_by_phase": phases,
            "max_main_process": round(rss.max_own / MiB, 1),
            "max_single_process": round(rss.max_process / MiB, 1),
            "max_pss_summed_by_phase": {
                k: round(v / MiB, 1) for k, v in rss.max_pss_by_phase.items()
            },
            "samples": rss.samples,
        },
        "paging": {
            "events": paging.events,
            "expected": paging.expected,
            "pages": paging.pages,
            "seconds": round(paging.seconds, 3),
            "raw_seconds": round(paging.raw_seconds, 3),
            "max_page_ms": round(paging.max_page_ms, 1),
            "errors": paging.errors[:5],
        },
        "planner_statistics": statistics,
        "cpu": {name: use.as_json() for name, use in cpu.phases.items()},
        "server_log_tail": log_tail,
    }
    return figures, details


def _pct(values: list[float], pct: float) -> float:
    from bench.reads import percentile

    return percentile(values, pct)


def _meta(args: argparse.Namespace, corpus: Corpus, backends: list[str]) -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
        modified = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent,
        ).stdout.split("\n")
    except OSError:
        commit, modified = "", []
    pg_version = None
    if "postgresql" in backends:
        with psycopg.connect(args.admin_url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            pg_version = row[0] if row else None
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "src_uncommitted": [line[3:] for line in modified if line.strip()],
        "events": corpus.events,
        "batch_size": corpus.batch_size,
        "clients": args.clients,
        "server_processes": args.processes,
        "requests_per_filter": args.requests,
        "corpus": {
            "distinct_in_sample": corpus.distinct,
            "mean_event_bytes": round(corpus.bytes_total / corpus.events),
            "generation_seconds": round(corpus.seconds, 2),
        },
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "cpus": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Wide enough for the table when the output goes to a file or a CI log.
    console = Console(width=None if sys.stdout.isatty() else 170)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    started = time.perf_counter()
    with console.status(f"generating {args.events:,} events"):
        corpus = make_corpus(args.events, args.batch_size)
    console.print(
        f"{corpus.events:,} events in {len(corpus.bodies):,} bodies "
        f"({corpus.bytes_total / MiB:,.0f} MB) generated in {corpus.seconds:.1f} s; "
        f"distinct in a 10% sample: {corpus.distinct}"
    )
    meta = _meta(args, corpus, backends)
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    for backend in backends:
        backend_figures, details[backend] = run_backend(backend, corpus, args, console)
        figures += backend_figures
        write_json(args.output, meta, figures, details)  # partial results survive a later crash
    meta["total_seconds"] = round(time.perf_counter() - started, 1)
    write_json(args.output, meta, figures, details)
    render(figures, console, f"trailkeeper benchmarks — {corpus.events:,} events")
    console.print(f"results: {args.output}")
    return 0 if all(f.passed is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
