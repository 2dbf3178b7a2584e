"""``python -m bench.ingest_ir``: instructions per event of the whole server taking HTTP ingest.

Wall-clock figures on a shared machine move with everybody else's load; instruction counts do
not. This starts a real ``trailkeeper serve --no-workers`` under valgrind's callgrind (with
instrumentation off until the measured phases, so starting up costs no counts), sends it
batches of 1,000 events over HTTP (``--batch-clients`` keep-alive connections, default 1) and
then single-event requests (``--clients``, default 8), and counts the instructions the
server's process executed in each phase, every thread (event loop, ingest writer, pool)
together: callgrind is zeroed before a phase and dumped after it. The baseline is counted the
same way in the same run: a process under callgrind that inserts the rows the server stored
into a clone of the events table through the bench's raw connection (``bench/db.py``, as
``python -m bench`` and ``python -m bench.single`` do for wall time), in transactions of 1,000
rows and then one row per transaction.

What is counted is user-space work of those processes: the kernel's (system calls, fsync) and,
on PostgreSQL, the database server's are not, on either side. valgrind hides the CPU's SHA
extensions, so SHA-256 is counted in software (the baseline hashes nothing).
What the server executes with nothing to do (uvicorn's timer, a few hundred thousand
instructions a second) is counted over a quiet second first and taken off each phase for its
length, so a phase that a busy machine makes longer counts no more for it.

``--python`` runs the server and the baseline with another venv's interpreter (the code of
another commit, its ``trailkeeper`` script beside it) and this bench's code, to compare two
commits with one bench.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.data import Corpus, make_corpus
from bench.db import open_raw
from bench.ingest import ingest_http
from bench.report import Figure, render, write_json
from bench.server import Deployment, ServerCommand
from bench.single import send_singles

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ingest_ir.json"
PROFILES = ROOT / "bench" / "results" / "callgrind"
READY_TIMEOUT = 600.0  # startup runs under valgrind (uninstrumented, still several times slower)
QUIET_SECONDS = 1.0
WARM_BATCHES = 2
WARM_SINGLES_PER_CLIENT = 4
ENV = (("PYTHONHASHSEED", "0"),)  # the same dict and set orders in every run
PARTS = ("batches", "rows")  # the baseline's: 1,000 rows a transaction, then one


def valgrind(out: Path) -> list[str]:
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]


def instructions(path: Path) -> int:
    """The total ``Ir`` of a callgrind output file."""
    for line in path.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise ValueError(f"{path}: no summary line")


class Callgrind:
    """A process under callgrind (started with :func:`valgrind`): what it executes between
    :meth:`zero` and :meth:`dump`, through ``callgrind_control``."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid = pid
        self.out = out
        self.dumps = 0

    def _control(self, *args: str) -> None:
        subprocess.run(
            ["callgrind_control", *args, str(self.pid)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def instrument(self, on: bool) -> None:
        self._control("-i", "on" if on else "off")

    def zero(self) -> None:
        self._control("-z")

    def dump(self, name: str) -> int:
        """Instructions since the last zero or dump; the profile is kept as ``name``."""
        self._control("-d")
        self.dumps += 1
        path = self.out.with_name(f"{self.out.name}.{self.dumps}")
        deadline = time.monotonic() + 60
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        kept = self.out.with_name(f"{name}.callgrind")
        path.replace(kept)
        return instructions(kept)

    def count(self, name: str, work: Callable[[], object]) -> tuple[int, float]:
        """Instructions while ``work`` ran, and its seconds."""
        self.zero()
        started = time.perf_counter()
        work()
        seconds = time.perf_counter() - started
        return self.dump(name), seconds


@dataclasses.dataclass(frozen=True, slots=True)
class Counts:
    batch_ir: int
    batch_events: int
    single_ir: int
    single_events: int
    quiet_per_second: int


def _part(corpus: Corpus, start: int, end: int | None = None) -> Corpus:
    bodies = corpus.bodies[start:end]
    return dataclasses.replace(corpus, bodies=bodies, events=len(bodies) * corpus.batch_size)


def count_server(deployment: Deployment, cg: Callgrind, args: argparse.Namespace) -> Counts:
    """Warm up (connections, caches, the token remembered), then count a quiet second, the
    batches and the single events."""
    batches = make_corpus((args.events // 1000 + WARM_BATCHES) * 1000, 1000)
    warm_singles = args.clients * WARM_SINGLES_PER_CLIENT
    singles = make_corpus(args.singles + warm_singles, 1)
    _stored(ingest_http(deployment, _part(batches, 0, WARM_BATCHES), args.batch_clients))
    _stored(send_singles(deployment, singles.bodies[:warm_singles], args.clients))
    measured = _part(batches, WARM_BATCHES)
    name = f"server-{deployment.backend}"
    cg.instrument(True)
    quiet, seconds = cg.count(f"{name}-quiet", lambda: time.sleep(QUIET_SECONDS))
    per_second = quiet / seconds
    batch_ir, seconds = cg.count(
        f"{name}-batches",
        lambda: _stored(ingest_http(deployment, measured, args.batch_clients)),
    )
    batch_ir -= round(per_second * seconds)
    single_ir, seconds = cg.count(
        f"{name}-singles",
        lambda: _stored(send_singles(deployment, singles.bodies[warm_singles:], args.clients)),
    )
    single_ir -= round(per_second * seconds)
    cg.instrument(False)
    return Counts(batch_ir, measured.events, single_ir, args.singles, round(per_second))


def _stored(result: Any) -> None:
    if result.errors:
        raise RuntimeError(f"{len(result.errors)} requests failed: {result.errors[:3]}")


@dataclasses.dataclass(frozen=True, slots=True)
class RawCounts:
    batch_ir: int
    batch_rows: int
    single_ir: int
    single_rows: int


def count_raw(
    deployment: Deployment, python: str, profiles: Path, batch_rows: int, single_rows: int
) -> RawCounts:
    """The baseline: a process under callgrind inserts stored rows into a clone of the
    events table, first ``batch_rows`` in transactions of 1,000, then ``single_rows`` one
    per transaction; only the inserts are counted (the rows are read before)."""
    out = profiles / f"callgrind.out.raw-{deployment.backend}"
    env = dict(os.environ, PYTHONPATH=str(ROOT), **dict(ENV))
    spec = "|".join(
        [deployment.backend, str(deployment.data_dir), deployment.database_url or "",
         deployment.tenant.name if deployment.tenant else "bench", str(batch_rows),
         str(single_rows)]
    )  # fmt: skip
    command = [*valgrind(out), python, "-m", "bench.ingest_ir", "--raw-child", spec]
    with subprocess.Popen(
        command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    ) as child:  # fmt: skip
        talk = _Talk(child)
        talk.expect("ready")
        cg = Callgrind(child.pid, out)
        cg.instrument(True)
        counts = [cg.count(f"raw-{deployment.backend}-{part}", talk.step)[0] for part in PARTS]
        cg.instrument(False)
        talk.step()  # drop the clone and leave
    if child.returncode != 0:
        raise RuntimeError(f"raw inserts under valgrind exited with {child.returncode}")
    return RawCounts(counts[0], batch_rows, counts[1], single_rows)


class _Talk:
    """The parent's side of the baseline process's lines: ``go`` out, ``done`` back."""

    def __init__(self, child: subprocess.Popen[str]) -> None:
        assert child.stdin is not None
        assert child.stdout is not None
        self.to, self.back = child.stdin, child.stdout

    def expect(self, word: str) -> None:
        line = self.back.readline().strip()
        if line != word:
            raise RuntimeError(f"raw inserts: expected {word!r}, got {line!r}")

    def step(self) -> None:
        self.to.write("go\n")
        self.to.flush()
        self.expect("done")


def raw_child(spec: str) -> int:
    """The baseline's process (see :func:`count_raw`): read, say ``ready``; on each ``go``
    insert the next part and say ``done``."""
    backend, data_dir, url, tenant, batch_rows, single_rows = spec.split("|")
    raw = open_raw(backend, data_dir=Path(data_dir), database_url=url or None, tenant=tenant)
    try:
        rows = [row for batch in raw.stored_batches(1000) for row in batch]
        first, rest = int(batch_rows), int(single_rows)
        parts = [
            [rows[i : i + 1000] for i in range(0, first, 1000)],
            [[row] for row in rows[first : first + rest]],
        ]
        if len(rows) < first + rest:
            raise RuntimeError(f"{len(rows)} rows stored, {first + rest} wanted")
        raw.create_clone()
        print("ready", flush=True)
        for part in parts:
            sys.stdin.readline()
            for batch in part:
                raw.insert_clone(batch)
            print("done", flush=True)
        sys.stdin.readline()
        raw.drop_clone()
        print("done", flush=True)
    finally:
        raw.close()
    return 0


def run_backend(backend: str, args: argparse.Namespace, console: Console) -> list[Figure]:
    python = args.python or sys.executable
    out = args.profiles / f"callgrind.out.server-{backend}"
    server = ServerCommand(
        wrapper=tuple(valgrind(out)), python=args.python, workers=False, env=ENV,
        ready_timeout=READY_TIMEOUT,
    )  # fmt: skip
    console.rule(f"[bold]{backend}")
    with Deployment(backend, args.admin_url, server=server) as deployment:
        counts = count_server(deployment, Callgrind(deployment.pid, out), args)
        raw = count_raw(
            deployment, python, args.profiles, counts.batch_events, args.raw_single_rows
        )
    batch = counts.batch_ir / counts.batch_events
    single = counts.single_ir / counts.single_events
    raw_batch = raw.batch_ir / raw.batch_rows
    raw_single = raw.single_ir / raw.single_rows
    console.print(
        f"server: batches {batch:,.0f} Ir/event ({counts.batch_events:,} events, "
        f"{args.batch_clients} clients), single events {single:,.0f} Ir/event "
        f"({counts.single_events:,}, {args.clients} clients), quiet "
        f"{counts.quiet_per_second:,} Ir/s (subtracted); raw: {raw_batch:,.0f} Ir/row in "
        f"transactions of 1,000, {raw_single:,.0f} Ir/row one per transaction"
    )
    return [
        Figure(
            backend, f"HTTP batches of 1,000, {args.batch_clients} client(s)", batch,
            "Ir/event", raw_batch, "raw inserts, 1,000 a transaction", "server/raw", "—",
            None, f"{counts.batch_events:,} events; profile server-{backend}-batches.callgrind",
        ),
        Figure(
            backend, f"single-event requests, {args.clients} clients", single, "Ir/event",
            raw_single, "raw 1-row commits", "server/raw", "—", None,
            f"{counts.single_events:,} requests; profile server-{backend}-singles.callgrind",
        ),
    ]  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest_ir", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--events", type=int, default=20_000, help="events sent in batches")
    parser.add_argument("--singles", type=int, default=1_000, help="single-event requests")
    parser.add_argument("--batch-clients", type=int, default=1)
    parser.add_argument("--clients", type=int, default=8, help="single-event connections")
    parser.add_argument("--raw-single-rows", type=int, default=500)
    parser.add_argument("--python", help="the server's interpreter (another venv)")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--profiles", type=Path, default=PROFILES, help="callgrind files")
    parser.add_argument("--raw-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.events < 1000 or args.singles < 1 or args.raw_single_rows > args.singles:
        parser.error("--events ≥ 1000, --singles ≥ 1 and ≥ --raw-single-rows")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.raw_child:
        return raw_child(args.raw_child)
    console = Console(width=None if sys.stdout.isatty() else 170)
    args.profiles.mkdir(parents=True, exist_ok=True)
    figures = [
        figure
        for backend in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,))
        for figure in run_backend(backend, args, console)
    ]
    options = ("events", "singles", "batch_clients", "clients", "python")
    write_json(args.output, {k: getattr(args, k) for k in options}, figures, {})
    render(figures, console, "instructions per event (callgrind)")
    console.print(f"profiles: {args.profiles}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
