"""``ingest FILE.jsonl[.gz]``: bulk load with a progress bar, atomic per batch of 1,000.

Batches are validated as they are read and stored ten at a time in one transaction (each
batch still all or nothing, in a savepoint of its own on SQLite): one commit, and one
fsync, per 10,000 events. A gzip file (by its magic bytes) is read as it inflates.
For a large file, a worker process parses, validates and encodes the batches (rows ready
to insert, ``service/bulkload.py``) while this one only sequences, inserts and commits
them: the same batches, rows and messages as in one process, in file order.
It reports how many events were new and how many were already in the log (an event whose
``id`` was stored before is not stored again), and, when it stops early, exactly what was
stored before it stopped."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from trailkeeper.cli.options import (
    DatabaseUrl,
    DataDir,
    JsonOut,
    console,
    open_service,
    settings_from,
)
from trailkeeper.errors import TrailkeeperError
from trailkeeper.heap import settle_heap
from trailkeeper.service import Trailkeeper
from trailkeeper.service.bulkload import BadBatch, BadLine, Chunk, chunks, prepared
from trailkeeper.storage.protocols import Receipt
from trailkeeper.storage.ready import ReadyBatch
from trailkeeper.storage.tenants import Tenant
from trailkeeper.workerpool import worker_pool

__all__ = ["IngestCount", "ingest"]


class _BadLine(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class IngestCount:
    """Events stored so far: new ones, and ones the log already held (same id)."""

    new: int = 0
    present: int = 0

    @property
    def events(self) -> int:
        return self.new + self.present

    def add(self, receipts: list[Receipt], log_size_before: int, seen: set[int]) -> None:
        """A receipt with a seq below the log's size before the group of batches is an
        event stored earlier (its original receipt), and so is one whose seq an earlier
        receipt of the group got (the file holds the id twice); the others are new."""
        fresh = {r.seq for r in receipts if r.seq >= log_size_before} - seen
        self.new += len(fresh)
        self.present += len(receipts) - len(fresh)
        seen |= fresh

    def as_dict(self, tenant: str) -> dict[str, Any]:
        return {
            "tenant": tenant,
            "events": self.events,
            "new": self.new,
            "already_present": self.present,
        }

    def summary(self) -> str:
        return f"{self.events:,} events ({self.new:,} new, {self.present:,} already present)"

    def before_stop(self) -> str:
        """What a reader must know when the load stopped early."""
        if self.events == 0:
            return "nothing was stored"
        return (
            f"earlier batches were stored: {self.summary()}; "
            "re-running is safe for events with an id"
        )


GROUP_BATCHES = 10
"""Batches stored in one transaction."""
DEFAULT_WORKERS = 1
"""Worker processes by default: one beside this one keeps two cores busy (the writer's
work per event is about the workers')."""
AHEAD = 2 * GROUP_BATCHES
"""Chunks the workers may prepare ahead of the one being stored: while a group is stored,
the next one is made."""
WORKER_NICE = 10
"""The workers yield the CPU to this process, which stores what they make: with as many
processes as cores, the writer, which sets the pace, is never the one left waiting for a
core."""
AUTO_BYTES = 4 * 2**20
"""Smaller files load in this process: starting a worker costs more than it saves."""


WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=0,
        help="Processes that parse and validate the file while this one stores it "
        f"(default: {DEFAULT_WORKERS} for a file over {AUTO_BYTES // 2**20} MiB, else 0; "
        "0 does everything in this process)",
        show_default=False,
    ),
]


def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name")],
    workers: WorkersOption = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonOut = False,
) -> None:
    """Load events from a JSON Lines file (one event per line), same rules as the API."""
    settings = settings_from(data_dir=data_dir, database_url=database_url)
    if workers is None:
        workers = DEFAULT_WORKERS if file.stat().st_size > AUTO_BYTES else 0
    settle_heap()  # before the fork: the workers inherit it
    # started before the store is opened: forked workers then share none of its state
    pool = worker_pool(workers, nice=WORKER_NICE) if workers > 0 else None
    count = IngestCount()
    try:
        service = open_service(settings)
        try:
            target = service.tenancy.tenant(tenant)
            ahead = (pool, AHEAD) if pool else None
            _load(service, target, file, count, ahead, quiet=json)
        finally:
            service.close()
    except _BadLine as exc:
        console.print(f"[red]line {exc.line}:[/] {escape(str(exc))}; {count.before_stop()}")
        raise typer.Exit(1) from None
    except TrailkeeperError as exc:
        console.print(f"[red]error:[/] {escape(exc.message)}")
        raise typer.Exit(1) from None
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if json:
        typer.echo(orjson.dumps(count.as_dict(tenant)).decode())
    else:
        console.print(f"stored {count.summary()} in tenant {tenant!r}")


def _load(
    service: Trailkeeper,
    target: Tenant,
    file: Path,
    count: IngestCount,
    pool: tuple[Executor, int] | None,
    *,
    quiet: bool,
) -> None:
    columns = (
        TextColumn("[bold]ingest"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[events]:,} events"),
    )  # fmt: skip
    pending: list[_Pending] = []
    with Progress(*columns, console=console, disable=quiet) as progress:
        task = progress.add_task("ingest", total=file.stat().st_size, events=0)
        source = chunks(file, lambda offset: progress.update(task, completed=offset))
        outcomes = prepared(source, target.id, service.store.occurred_form, pool)
        try:
            for chunk, outcome in outcomes:
                if not isinstance(outcome, ReadyBatch):
                    _store(service, pending, count)  # the batches before it stand
                    _refuse(outcome, chunk, count)
                pending.append((chunk, outcome))
                if len(pending) == GROUP_BATCHES:
                    _store(service, pending, count)
                    progress.update(task, events=count.events)
        finally:
            outcomes.close()
        _store(service, pending, count)
        progress.update(task, events=count.events)


def _refuse(outcome: BadLine | BadBatch, chunk: Chunk, count: IngestCount) -> NoReturn:
    if isinstance(outcome, BadLine):
        raise _BadLine(outcome.line, outcome.message)
    _report(outcome.message, outcome.details, chunk, count)
    raise typer.Exit(1)


_Pending = tuple[Chunk, ReadyBatch]


def _store(service: Trailkeeper, pending: list[_Pending], count: IngestCount) -> None:
    """Store the pending batches in one transaction; stop at the first one refused (having
    counted every batch that was stored)."""
    if not pending:
        return
    before = service.store.log_size(pending[0][1].tenant_id)
    results = service.store.append_ready([batch for _, batch in pending])
    seen: set[int] = set()
    refused: tuple[Exception, Chunk] | None = None
    for (chunk, _), result in zip(pending, results, strict=True):
        if isinstance(result, Exception):
            refused = refused or (result, chunk)
        else:
            count.add(result, before, seen)
    pending.clear()
    if refused is not None:
        exc, chunk = refused
        if not isinstance(exc, TrailkeeperError):
            raise exc
        _report(exc.message, exc.details, chunk, count)
        raise typer.Exit(1) from None


def _report(message: str, details: list[dict[str, Any]], chunk: Chunk, count: IngestCount) -> None:
    """Name problems by file line, so they can be fixed in place."""
    console.print(f"[red]error:[/] {escape(message)}")
    for detail in details[:50]:
        index = detail.get("index")
        where = f"line {chunk.numbers[index]}" if isinstance(index, int) else "batch"
        field = detail.get("field") or "event"
        console.print(f"  {where}: {escape(str(field))}: {escape(str(detail.get('message')))}")
    console.print(f"This batch was not stored; {count.before_stop()}.")
