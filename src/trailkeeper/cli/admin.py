"""``migrate``, ``tenants`` and ``tokens`` commands."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from trailkeeper.cli.options import (
    DatabaseUrl,
    DataDir,
    JsonOut,
    console,
    open_service,
    settings_from,
)
from trailkeeper.errors import TrailkeeperError

__all__ = ["migrate", "tenants", "tokens"]

tenants = typer.Typer(help="Create tenants.", no_args_is_help=True, rich_markup_mode=None)
tokens = typer.Typer(
    help="Create, list and revoke API tokens.", no_args_is_help=True, rich_markup_mode=None
)


def emit(data: Any) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def fail(exc: TrailkeeperError) -> typer.Exit:
    console.print(f"[red]error:[/] {exc.message}")
    return typer.Exit(1)


def migrate(
    data_dir: DataDir = None, database_url: DatabaseUrl = None, json: JsonOut = False
) -> None:
    """Create or upgrade the database schema."""
    service = open_service(settings_from(data_dir=data_dir, database_url=database_url))
    try:
        version = service.store.migrate()
    finally:
        service.close()
    if json:
        emit({"schema_version": version, "backend": service.store.backend})
    else:
        console.print(f"schema at version {version} ({service.store.backend})")


@tenants.command("create")
def tenants_create(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Create a tenant; prints its admin token and webhook secret (shown only once)."""
    service = open_service(settings_from(data_dir=data_dir, database_url=database_url))
    try:
        emit(service.tenancy.create_tenant(name))
    except TrailkeeperError as exc:
        raise fail(exc) from None
    finally:
        service.close()


Tenant = Annotated[str, typer.Option("--tenant", help="Tenant name")]


@tokens.command("create")
def tokens_create(
    tenant: Tenant,
    name: Annotated[str, typer.Option("--name", help="What the token is for")],
    scope: Annotated[list[str], typer.Option("--scope", help="Scope; repeat for several")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    service = open_service(settings_from(data_dir=data_dir, database_url=database_url))
    try:
        created = service.tenancy.create_token(
            service.tenancy.tenant(tenant), name, scope, actor=None
        )
        emit({"token": created["token"], "id": created["id"], "scopes": created["scopes"]})
    except TrailkeeperError as exc:
        raise fail(exc) from None
    finally:
        service.close()


@tokens.command("list")
def tokens_list(
    tenant: Tenant,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonOut = False,
) -> None:
    """List a tenant's tokens (never the tokens themselves)."""
    service = open_service(settings_from(data_dir=data_dir, database_url=database_url))
    try:
        listed = service.tenancy.list_tokens(service.tenancy.tenant(tenant))
    except TrailkeeperError as exc:
        raise fail(exc) from None
    finally:
        service.close()
    if json:
        emit(listed)
        return
    table = Table("id", "name", "scopes", "created", "revoked")
    for row in listed:
        table.add_row(
            row["id"], row["name"], " ".join(row["scopes"]), row["created_at"],
            row["revoked_at"] or "",
        )  # fmt: skip
    console.print(table)


@tokens.command("revoke")
def tokens_revoke(
    tenant: Tenant,
    token_id: Annotated[str, typer.Argument(metavar="ID")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonOut = False,
) -> None:
    """Revoke a token by id; it stops working at once in every process."""
    service = open_service(settings_from(data_dir=data_dir, database_url=database_url))
    try:
        revoked = service.tenancy.revoke_token(service.tenancy.tenant(tenant), token_id, None)
    except TrailkeeperError as exc:
        raise fail(exc) from None
    finally:
        service.close()
    if json:
        emit(revoked)
    else:
        console.print(f"revoked {revoked['id']} ({revoked['name']})")
