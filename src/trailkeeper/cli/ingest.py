"""``ingest FILE.jsonl``: bulk load with a progress bar, atomic per batch of 1,000."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
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
from trailkeeper.events.batch import MAX_BATCH
from trailkeeper.events.body import parse_json

__all__ = ["ingest"]


class _BadLine(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _batches(path: Path, progress: Progress, task: Any) -> Iterator[tuple[int, list[Any]]]:
    """(first line number, events) per batch of up to 1,000 non-blank lines."""
    batch: list[Any] = []
    first = 1
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            progress.advance(task, len(line))
            if not line.strip():
                continue
            try:
                event = parse_json(line, "the line")
            except InvalidRequest as exc:
                raise _BadLine(number, exc.message) from None
            if not batch:
                first = number
            batch.append((number, event))
            if len(batch) == MAX_BATCH:
                yield first, batch
                batch = []
    if batch:
        yield first, batch


def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonOut = False,
) -> None:
    """Load events from a JSON Lines file (one event per line), same rules as the API."""
    service = open_service(settings_from(data_dir=data_dir, database_url=database_url))
    stored = 0
    columns = (
        TextColumn("[bold]ingest"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[events]:,} events"),
    )  # fmt: skip
    try:
        target = service.tenancy.tenant(tenant)
        with Progress(*columns, console=console, disable=json) as progress:
            task = progress.add_task("ingest", total=file.stat().st_size, events=0)
            for _, batch in _batches(file, progress, task):
                try:
                    receipts = service.ingest_events(target, [event for _, event in batch])
                except TrailkeeperError as exc:
                    _report(exc, batch)
                    raise typer.Exit(1) from None
                stored += len(receipts)
                progress.update(task, events=stored)
    except _BadLine as exc:
        console.print(f"[red]line {exc.line}:[/] {exc}; earlier batches were stored")
        raise typer.Exit(1) from None
    except TrailkeeperError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        service.close()
    if json:
        typer.echo(orjson.dumps({"tenant": tenant, "events": stored}).decode())
    else:
        console.print(f"stored {stored:,} events in tenant {tenant!r}")


def _report(exc: TrailkeeperError, batch: list[tuple[int, Any]]) -> None:
    """Name problems by file line, so they can be fixed in place."""
    console.print(f"[red]error:[/] {exc.message}")
    for detail in exc.details[:50]:
        index = detail.get("index")
        where = f"line {batch[index][0]}" if isinstance(index, int) else "batch"
        console.print(f"  {where}: {detail.get('field') or 'event'}: {detail.get('message')}")
    console.print(
        "This batch was not stored; earlier batches were (re-running is safe for "
        "events with an id)."
    )
