"""``python -m bench.profile``: where the server spends its time, with py-spy.

Starts a server like the benchmark does, records it with ``py-spy record --format raw`` while it
ingests, then while it answers list requests, and prints the functions with the largest inclusive
and self share of samples. Collapsed stacks (for flamegraph tools or speedscope) are written to
``bench/results/profile-<backend>-<phase>.txt``. Needs ``pip install py-spy`` in the venv.

With ``--processes N`` the server runs ``serve --processes N`` and py-spy follows its children
(``--subprocesses``); with ``--idle`` the samples of threads that wait (a writer waiting for
SQLite's lock held by another process, an fsync) are kept too, so waits show beside work.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.data import make_corpus
from bench.db import open_raw
from bench.ingest import ingest_http
from bench.reads import measure_list
from bench.server import Deployment

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TOP = 25
# Leaf frames of threads that wait rather than work (py-spy's idle detection misses some).
IDLE = frozenset(
    ("Condition.wait", "EpollSelector.select", "Queue.get", "Event.wait", "Thread.join")
)


def _py_spy() -> str:
    found = Path(sys.executable).with_name("py-spy")
    if found.exists():
        return str(found)
    which = shutil.which("py-spy")
    if which is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return which


def record(
    pid: int, out: Path, work: Callable[[], object], rate: int = 200, *, flags: Sequence[str] = ()
) -> None:
    """Run ``work()`` while py-spy samples ``pid`` (all threads, idle frames excluded unless
    ``flags`` has ``--idle``; its children too with ``--subprocesses``)."""
    spy = subprocess.Popen(
        [_py_spy(), "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate),
         "--output", str(out), "--threads", *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(1.0)  # let py-spy attach
    try:
        work()
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait(10)


def _frame_name(frame: str) -> str:
    """``func (path/to/module.py:123)`` → ``func (module.py)``; line numbers vary per sample."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    marker = "site-packages/"
    if marker in path:
        path = path.split(marker, 1)[1]
    elif "/src/" in path:
        path = path.split("/src/", 1)[1]
    return f"{name} ({path})"


def summarize(collapsed: Path) -> tuple[int, Counter[str], Counter[str]]:
    """(samples, inclusive counts, self counts) by function, from py-spy's raw output."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [
            _frame_name(f)
            for f in stack.split(";")
            if " (" in f and not f.startswith(("thread (", "process "))
        ]
        if not frames or frames[-1].split(" (")[0] in IDLE:
            continue
        total += count
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    return total, inclusive, own


def show(console: Console, title: str, collapsed: Path) -> None:
    total, inclusive, own = summarize(collapsed)
    table = Table(title=f"{title}: {total:,} busy samples", header_style="bold")
    table.add_column("inclusive %", justify="right")
    table.add_column("function")
    table.add_column("self %", justify="right")
    table.add_column("function (self)")
    top_inclusive = inclusive.most_common(TOP)
    top_self = own.most_common(TOP)
    for n in range(TOP):
        left = top_inclusive[n] if n < len(top_inclusive) else ("", 0)
        right = top_self[n] if n < len(top_self) else ("", 0)
        table.add_row(
            f"{100 * left[1] / max(1, total):.1f}",
            left[0],
            f"{100 * right[1] / max(1, total):.1f}",
            right[0],
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100, help="list requests per filter")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument(
        "--single",
        action="store_true",
        help="profile single-event requests (bench.single's client) instead, 8 clients",
    )
    parser.add_argument("--processes", type=int, default=1, help="serve --processes N")
    parser.add_argument("--idle", action="store_true", help="keep waiting threads' samples")
    args = parser.parse_args(argv)
    flags = ["--subprocesses"] if args.processes > 1 else []
    flags += ["--idle"] if args.idle else []
    console = Console(width=None if sys.stdout.isatty() else 170)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.single:
        return _single(args, console, flags)
    corpus = make_corpus(args.events)
    with Deployment(args.backend, args.admin_url, processes=args.processes) as deployment:
        ingest_out = RESULTS / f"profile-{args.backend}-ingest.txt"
        record(
            deployment.pid,
            ingest_out,
            lambda: ingest_http(deployment, corpus, args.clients),
            flags=flags,
        )
        raw = open_raw(
            args.backend,
            data_dir=deployment.data_dir,
            database_url=deployment.database_url,
            tenant="bench",
        )
        try:
            reads_out = RESULTS / f"profile-{args.backend}-list.txt"
            record(
                deployment.pid,
                reads_out,
                lambda: measure_list(deployment, raw, corpus.values, args.requests),
                flags=flags,
            )
        finally:
            raw.close()
    show(console, f"{args.backend}: ingest ({args.events:,} events)", ingest_out)
    show(console, f"{args.backend}: list requests (HTTP and raw passes)", reads_out)
    console.print(f"collapsed stacks: {ingest_out}, {reads_out}")
    return 0


def _single(args: argparse.Namespace, console: Console, flags: Sequence[str]) -> int:
    """Single-event requests from ``max(8, clients)`` connections (bench.single's client)."""
    from bench.single import send_singles

    clients = max(8, args.clients)
    corpus = make_corpus(args.events, 1)
    out = RESULTS / f"profile-{args.backend}-single.txt"
    with Deployment(args.backend, args.admin_url, processes=args.processes) as deployment:
        send_singles(deployment, corpus.bodies[: clients * 20], clients)  # warm up
        record(
            deployment.pid,
            out,
            lambda: send_singles(deployment, corpus.bodies, clients),
            flags=flags,
        )
    show(console, f"{args.backend}: single-event requests, {clients} clients", out)
    console.print(f"collapsed stacks: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
