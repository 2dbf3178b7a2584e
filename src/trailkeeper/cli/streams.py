"""``streams``: the streams API from the command line, for operators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from trailkeeper.cli.admin import Tenant
from trailkeeper.cli.options import (
    AllowPrivateDestinations,
    DatabaseUrl,
    DataDir,
    JsonOut,
    console,
    emit,
    fail,
    open_service,
    settings_from,
)
from trailkeeper.errors import InvalidRequest, TrailkeeperError
from trailkeeper.service import Trailkeeper
from trailkeeper.service.audit import CLI_ACTOR
from trailkeeper.storage.streamsql import StreamStatus

__all__ = ["streams"]

streams = typer.Typer(
    help="Streams to SIEMs: list, create, pause, resume, test, delete.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
StreamId = Annotated[str, typer.Argument(metavar="ID", help="The stream's id (str_…)")]


def _json_option(text: str | None, name: str) -> Any:
    """A JSON option, given inline or as ``@file.json``."""
    if text is None:
        return None
    raw = Path(text[1:]).read_bytes() if text.startswith("@") else text.encode()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"--{name} is not valid JSON: {exc.msg}") from None


def _run(settings: dict[str, Any], action: Any) -> Any:
    service = open_service(settings_from(**settings))
    try:
        return action(service)
    except TrailkeeperError as exc:
        raise fail(exc) from None
    finally:
        service.close()


def _show(views: list[dict[str, Any]]) -> None:
    table = Table("id", "name", "type", "status", "cursor", "lag", "delivered", "last error")
    for v in views:
        table.add_row(
            v["id"], v["name"], v["type"], v["status"], str(v["cursor_seq"]),
            str(v["lag_events"]), str(v["delivered"]), (v["last_error"] or "")[:60],
        )  # fmt: skip
    console.print(table)


def _out(view: Any, json: bool) -> None:
    if json:
        emit(view)
    elif isinstance(view, dict) and "status" in view:
        _show([view])
    else:
        emit(view)


@streams.command("list")
def streams_list(
    tenant: Tenant,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonOut = False,
) -> None:
    """List the tenant's streams with their status, cursor and lag."""
    views = _run(
        {"data_dir": data_dir, "database_url": database_url},
        lambda s: s.streams.list(s.tenancy.tenant(tenant)),
    )
    emit(views) if json else _show(views)


@streams.command("create")
def streams_create(
    tenant: Tenant,
    name: Annotated[str, typer.Option(help="A name for the stream")],
    type: Annotated[str, typer.Option("--type", help="splunk_hec, datadog, elasticsearch, "
                                      "azure_monitor, s3, syslog or webhook")],
    config: Annotated[str, typer.Option(help="The destination's settings as JSON, or @file.json")],
    format: Annotated[str, typer.Option(help="native, ocsf or cef (syslog)")] = "native",
    filters: Annotated[str | None, typer.Option(help="List filters as JSON")] = None,
    start: Annotated[str, typer.Option(help="now, beginning or an RFC 3339 time")] = "now",
    allow_private_destinations: AllowPrivateDestinations = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonOut = False,
) -> None:  # fmt: skip
    """Create a stream; secrets in --config are stored sealed and never shown again."""

    def create(service: Trailkeeper) -> Any:
        body = {
            "name": name, "type": type, "format": format, "start": start,
            "config": _json_option(config, "config"),
            "filters": _json_option(filters, "filters") or {},
        }  # fmt: skip
        return service.streams.create(service.tenancy.tenant(tenant), body, CLI_ACTOR, source="cli")

    settings = {
        "data_dir": data_dir, "database_url": database_url,
        "allow_private_destinations": allow_private_destinations,
    }  # fmt: skip
    _out(_run(settings, create), json)


def _simple(command: str, doc: str) -> None:
    def run(
        tenant: Tenant,
        stream_id: StreamId,
        allow_private_destinations: AllowPrivateDestinations = None,
        data_dir: DataDir = None,
        database_url: DatabaseUrl = None,
        json: JsonOut = False,
    ) -> None:
        def act(service: Trailkeeper) -> Any:
            owner = service.tenancy.tenant(tenant)
            if command in ("pause", "resume"):
                status: StreamStatus = "paused" if command == "pause" else "active"
                return service.streams.set_status(owner, stream_id, status, CLI_ACTOR, source="cli")
            method = service.streams.test if command == "test" else service.streams.delete
            return method(owner, stream_id, CLI_ACTOR, source="cli")

        settings = {
            "data_dir": data_dir, "database_url": database_url,
            "allow_private_destinations": allow_private_destinations,
        }  # fmt: skip
        _out(_run(settings, act), json)

    run.__doc__ = doc
    streams.command(command)(run)


_simple("pause", "Stop delivering a stream (its cursor stays).")
_simple("resume", "Deliver a paused or failing stream again, from its cursor.")
_simple("test", "Send one test event to the stream's destination now.")
_simple("delete", "Delete a stream.")
