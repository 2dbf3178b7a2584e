"""``python -m bench.ingest_file``: ``trailkeeper ingest FILE`` beside raw inserts of the rows.

Writes the bench corpus (``bench/data.py``) as a JSON Lines file (and, with ``--gzip``,
gzip-compressed), loads it into a fresh deployment with the real command (a subprocess,
timed from start to exit: opening the store, parsing, validating, storing, the report),
then inserts the rows it stored into a clone of the events table in batches of 1,000, one
transaction each, as ``python -m bench`` does (``bench/db.py``): ratio command/raw.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.data import make_corpus
from bench.db import open_raw
from bench.ingest import insert_raw
from bench.server import Deployment, _cli

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_RATIO = 0.8


class _NoServer(Deployment):
    """A deployment's data dir, database and tenant, without a running server."""

    def _start(self) -> None:
        pass


def _write_file(path: Path, events: int, zipped: bool) -> int:
    corpus = make_corpus(events)
    lines = [
        orjson.dumps(event) for body in corpus.bodies for event in orjson.loads(body)["events"]
    ]
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data, 6) if zipped else data)
    return len(lines)


def run_backend(backend: str, args: argparse.Namespace, source: Path, events: int) -> float:
    workers = [] if args.workers is None else ["--workers", str(args.workers)]
    with _NoServer(backend, args.admin_url) as deployment:
        started = time.perf_counter()
        done = subprocess.run(
            [*_cli(), "ingest", "--tenant", "bench", str(source), "--json",
             *workers, *deployment._location()],
            env=deployment._env(),
            capture_output=True,
            check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stdout.decode()[-500:], done.stderr.decode()[-2000:], file=sys.stderr)
            raise SystemExit(f"trailkeeper ingest failed with {done.returncode}")
        report = orjson.loads(done.stdout[done.stdout.index(b"{") :])
        raw = open_raw(
            backend,
            data_dir=deployment.data_dir,
            database_url=deployment.database_url,
            tenant="bench",
        )
        try:
            baseline = insert_raw(raw, 1000)
        finally:
            raw.close()
    rate = events / seconds
    ratio = rate / baseline.rate if baseline.rate else 0.0
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(
        f"{backend:10s} trailkeeper ingest: {events:,} events in {seconds:.1f} s ({rate:,.0f}/s; "
        f"new {report['new']:,}); raw inserts {baseline.rate:,.0f}/s; "
        f"ratio {ratio:.2f}x (target >= {TARGET_RATIO}x) {verdict}",
        flush=True,
    )
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_file", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--gzip", action="store_true", help="load a .jsonl.gz file")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument(
        "--workers", type=int, help="passed to the command (default: the command's own)"
    )
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory(prefix="trailkeeper-ingest-file-") as scratch:
        source = Path(scratch) / ("events.jsonl.gz" if args.gzip else "events.jsonl")
        events = _write_file(source, args.events, args.gzip)
        ratios = [run_backend(backend, args, source, events) for backend in backends]
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    return 0 if all(r >= TARGET_RATIO for r in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
