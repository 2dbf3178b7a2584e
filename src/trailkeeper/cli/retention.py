"""``retention show|set|run|erase``: the retention API from the command line."""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
import typer

from trailkeeper.cli.admin import emit, fail
from trailkeeper.cli.options import (
    DatabaseUrl,
    DataDir,
    JsonOut,
    MinRetentionDays,
    ObjectStoreUrl,
    RetentionDays,
    console,
    open_service,
    settings_from,
)
from trailkeeper.errors import TrailkeeperError
from trailkeeper.service import Trailkeeper
from trailkeeper.service.audit import CLI_ACTOR

__all__ = ["retention"]

retention = typer.Typer(
    help="Retention policy, retention runs and erasure of an actor's personal data.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
TenantName = Annotated[str, typer.Option("--tenant", help="Tenant name")]


def _service(**flags: Any) -> Trailkeeper:
    return open_service(settings_from(**flags))


def _print(data: dict[str, Any], json: bool) -> None:
    if json:
        emit(data)
        return
    for key, value in data.items():
        shown = value if isinstance(value, str) else orjson.dumps(value).decode()
        typer.echo(f"{key}: {shown}")


@retention.command("show")
def show(
    tenant: TenantName,
    json: JsonOut = False,
    retention_days: RetentionDays = None,
    min_retention_days: MinRetentionDays = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the tenant's retention policy and how its last run went."""
    service = _service(
        data_dir=data_dir, database_url=database_url,
        retention_days=retention_days, min_retention_days=min_retention_days,
    )  # fmt: skip
    try:
        _print(service.retention.view(service.tenancy.tenant(tenant)), json)
    except TrailkeeperError as exc:
        raise fail(exc) from None
    finally:
        service.close()


@retention.command("set")
def set_policy(
    tenant: TenantName,
    days: Annotated[int | None, typer.Option(help="Keep events this many days")] = None,
    forever: Annotated[bool, typer.Option("--forever", help="Keep events forever")] = False,
    archive: Annotated[
        bool | None, typer.Option("--archive/--no-archive", help="Archive before deleting")
    ] = None,
    legal_hold: Annotated[
        bool | None, typer.Option("--legal-hold/--no-legal-hold", help="Stop all deletion")
    ] = None,
    json: JsonOut = False,
    min_retention_days: MinRetentionDays = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Change the policy; options left out keep their value. Recorded in the log."""
    body: dict[str, Any] = {"days": days} if days is not None else {}
    if forever:
        body["days"] = None
    for name, value in (("archive", archive), ("legal_hold", legal_hold)):
        if value is not None:
            body[name] = value
    service = _service(data_dir=data_dir, database_url=database_url,
                       min_retention_days=min_retention_days)  # fmt: skip
    try:
        found = service.tenancy.tenant(tenant)
        _print(service.retention.update(found, body, dict(CLI_ACTOR), source="cli"), json)
    except TrailkeeperError as exc:
        raise fail(exc) from None
    finally:
        service.close()


@retention.command("run")
def run(
    tenant: TenantName,
    json: JsonOut = False,
    retention_days: RetentionDays = None,
    object_store: ObjectStoreUrl = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run retention for the tenant now: archive what expired, then delete it."""
    service = _service(data_dir=data_dir, database_url=database_url,
                       retention_days=retention_days, object_store=object_store)  # fmt: skip
    try:
        report = service.retention.run(service.tenancy.tenant(tenant))
    except TrailkeeperError as exc:
        raise fail(exc) from None
    finally:
        service.close()
    if report is None:
        console.print("[yellow]another process is running retention for this tenant[/]")
        raise typer.Exit(1)
    _print(report.view(), json)
    if report.error:
        raise typer.Exit(1)


@retention.command("erase")
def erase(
    tenant: TenantName,
    actor: Annotated[str, typer.Option("--actor", help="The actor id whose data to erase")],
    json: JsonOut = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Erase an actor's personal data from every event, now (waits until done)."""
    service = _service(data_dir=data_dir, database_url=database_url)
    try:
        found = service.tenancy.tenant(tenant)
        erasure = service.erasures.request(found, {"actor_id": actor}, CLI_ACTOR["id"],
                                           CLI_ACTOR["name"])  # fmt: skip
        while erasure["status"] != "succeeded":
            if not service.erasures.run_once():
                time.sleep(0.5)  # a worker holds it: wait for it
            erasure = service.erasures.get(found, erasure["id"])
    except TrailkeeperError as exc:
        raise fail(exc) from None
    finally:
        service.close()
    _print(erasure, json)
