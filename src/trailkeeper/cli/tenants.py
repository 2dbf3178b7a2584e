"""``tenants create | list | rotate-webhook-secret``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from trailkeeper.cli.options import (
    DatabaseUrl,
    DataDir,
    JsonAlways,
    JsonOut,
    console,
    emit,
    fail,
    open_service,
    settings_from,
)
from trailkeeper.errors import TrailkeeperError

__all__ = ["tenants"]

tenants = typer.Typer(
    help="Create and list tenants; rotate a tenant's webhook secret.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
Name = Annotated[str, typer.Argument(metavar="NAME", help="Tenant name")]


@tenants.command("create")
def tenants_create(
    name: Name,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonAlways = False,
) -> None:
    """Create a tenant; prints its admin token and webhook secret (shown only once)."""
    settings = settings_from(data_dir=data_dir, database_url=database_url)
    service = open_service(settings, create=True)
    try:
        emit(service.tenancy.create_tenant(name))
    except TrailkeeperError as exc:
        raise fail(exc) from None
    finally:
        service.close()


@tenants.command("list")
def tenants_list(
    data_dir: DataDir = None, database_url: DatabaseUrl = None, json: JsonOut = False
) -> None:
    """List the tenants with their log sizes (never a secret)."""
    service = open_service(settings_from(data_dir=data_dir, database_url=database_url))
    try:
        listed = service.tenancy.list_tenants()
    finally:
        service.close()
    if json:
        emit(listed)
        return
    table = Table("tenant", "created", "events")
    for row in listed:
        table.add_row(row["tenant"], row["created_at"], f"{row['events']:,}")
    console.print(table, crop=False)


@tenants.command("rotate-webhook-secret")
def tenants_rotate_webhook_secret(
    name: Name,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonAlways = False,
) -> None:
    """Replace a tenant's webhook secret; prints the new one (shown only once)."""
    service = open_service(settings_from(data_dir=data_dir, database_url=database_url))
    try:
        tenant = service.tenancy.tenant(name)
        emit(service.tenancy.rotate_webhook_secret(tenant, actor=None))
    except TrailkeeperError as exc:
        raise fail(exc) from None
    finally:
        service.close()
