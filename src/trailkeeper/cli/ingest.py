"""``ingest FILE.jsonl[.gz]``: bulk load with a progress bar, atomic per batch of 1,000.

Batches are validated as they are read and stored ten at a time in one transaction (each
batch still all or nothing, in a savepoint of its own on SQLite): one commit, and one
fsync, per 10,000 events. A gzip file (by its magic bytes) is read as it inflates.
It reports how many events were new and how many were already in the log (an event whose
``id`` was stored before is not stored again), and, when it stops early, exactly what was
stored before it stopped."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, cast

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
from trailkeeper.errors import InvalidRequest, TrailkeeperError
from trailkeeper.events.batch import MAX_BATCH, drafts_from_events
from trailkeeper.events.body import GZIP_MAGIC, parse_json
from trailkeeper.events.record import Draft
from trailkeeper.service import Trailkeeper
from trailkeeper.storage.protocols import Receipt
from trailkeeper.storage.tenants import Tenant

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
        batch of the group got (the file holds the id twice); the others are new."""
        for receipt in receipts:
            if receipt.seq < log_size_before or receipt.seq in seen:
                self.present += 1
            else:
                self.new += 1
                seen.add(receipt.seq)

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


def _batches(path: Path, progress: Progress, task: Any) -> Iterator[list[tuple[int, Any]]]:
    """(line number, event) per batch of up to 1,000 non-blank lines; the progress is
    the share of the file read (of its compressed bytes, for a gzip file)."""
    batch: list[tuple[int, Any]] = []
    with path.open("rb") as raw:
        zipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        handle = cast(IO[bytes], gzip.GzipFile(fileobj=raw) if zipped else raw)
        for number, line in enumerate(handle, start=1):
            if number % 1000 == 0:
                progress.update(task, completed=raw.tell())
            if not line.strip():
                continue
            try:
                event = parse_json(line, "the line")
            except InvalidRequest as exc:
                raise _BadLine(number, exc.message) from None
            batch.append((number, event))
            if len(batch) == MAX_BATCH:
                yield batch
                batch = []
    if batch:
        yield batch
    progress.update(task, completed=path.stat().st_size)


def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonOut = False,
) -> None:
    """Load events from a JSON Lines file (one event per line), same rules as the API."""
    service = open_service(settings_from(data_dir=data_dir, database_url=database_url))
    count = IngestCount()
    try:
        target = service.tenancy.tenant(tenant)
        _load(service, target, file, count, quiet=json)
    except _BadLine as exc:
        console.print(f"[red]line {exc.line}:[/] {escape(str(exc))}; {count.before_stop()}")
        raise typer.Exit(1) from None
    except TrailkeeperError as exc:
        console.print(f"[red]error:[/] {escape(exc.message)}")
        raise typer.Exit(1) from None
    finally:
        service.close()
    if json:
        typer.echo(orjson.dumps(count.as_dict(tenant)).decode())
    else:
        console.print(f"stored {count.summary()} in tenant {tenant!r}")


def _load(
    service: Trailkeeper, target: Tenant, file: Path, count: IngestCount, *, quiet: bool
) -> None:
    columns = (
        TextColumn("[bold]ingest"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[events]:,} events"),
    )  # fmt: skip
    pending: list[_Pending] = []
    with Progress(*columns, console=console, disable=quiet) as progress:
        task = progress.add_task("ingest", total=file.stat().st_size, events=0)
        try:
            for batch in _batches(file, progress, task):
                try:
                    drafts = drafts_from_events([event for _, event in batch])
                except TrailkeeperError as exc:
                    _store(service, target, pending, count)  # the batches before it stand
                    _report(exc, batch, count)
                    raise typer.Exit(1) from None
                pending.append((batch, drafts))
                if len(pending) == GROUP_BATCHES:
                    _store(service, target, pending, count)
                    progress.update(task, events=count.events)
        except _BadLine:
            _store(service, target, pending, count)
            raise
        _store(service, target, pending, count)
        progress.update(task, events=count.events)


_Pending = tuple[list[tuple[int, Any]], list[Draft]]


def _store(
    service: Trailkeeper, target: Tenant, pending: list[_Pending], count: IngestCount
) -> None:
    """Store the pending batches in one transaction; stop at the first one refused (having
    counted every batch that was stored)."""
    if not pending:
        return
    before = service.store.log_size(target.id)
    results = service.store.append_many([(target.id, drafts) for _, drafts in pending])
    seen: set[int] = set()
    refused: tuple[Exception, list[tuple[int, Any]]] | None = None
    for (batch, _), result in zip(pending, results, strict=True):
        if isinstance(result, Exception):
            refused = refused or (result, batch)
        else:
            count.add(result, before, seen)
    pending.clear()
    if refused is not None:
        exc, batch = refused
        if not isinstance(exc, TrailkeeperError):
            raise exc
        _report(exc, batch, count)
        raise typer.Exit(1) from None


def _report(exc: TrailkeeperError, batch: list[tuple[int, Any]], count: IngestCount) -> None:
    """Name problems by file line, so they can be fixed in place."""
    console.print(f"[red]error:[/] {escape(exc.message)}")
    for detail in exc.details[:50]:
        index = detail.get("index")
        where = f"line {batch[index][0]}" if isinstance(index, int) else "batch"
        field = detail.get("field") or "event"
        console.print(f"  {where}: {escape(str(field))}: {escape(str(detail.get('message')))}")
    console.print(f"This batch was not stored; {count.before_stop()}.")
