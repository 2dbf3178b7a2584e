"""``migrate`` and ``tokens`` commands."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from trailkeeper.auth.tokens import Scope
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

__all__ = ["Tenant", "migrate", "tokens"]

tokens = typer.Typer(
    help="Create, list and revoke API tokens.", no_args_is_help=True, rich_markup_mode=None
)
Tenant = Annotated[str, typer.Option("--tenant", help="Tenant name")]
SCOPES = ", ".join(s.value for s in Scope)


def migrate(
    data_dir: DataDir = None, database_url: DatabaseUrl = None, json: JsonOut = False
) -> None:
    """Create or upgrade the database schema."""
    service = open_service(settings_from(data_dir=data_dir, database_url=database_url), create=True)
    try:
        version = service.store.migrate()
    finally:
        service.close()
    if json:
        emit({"schema_version": version, "backend": service.store.backend})
    else:
        console.print(f"schema at version {version} ({service.store.backend})")


@tokens.command("create")
def tokens_create(
    tenant: Tenant,
    name: Annotated[str, typer.Option("--name", help="What the token is for")],
    scope: Annotated[
        list[str], typer.Option("--scope", help=f"Scope, repeat for several: {SCOPES}")
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json: JsonAlways = False,
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
    # ids are what `tokens revoke` takes: never wrapped or cut, whatever the width
    table = Table()
    table.add_column("id", no_wrap=True, min_width=max((len(r["id"]) for r in listed), default=2))
    for header in ("name", "scopes", "created", "revoked"):
        table.add_column(header, overflow="fold")
    for row in listed:
        table.add_row(
            row["id"], row["name"], " ".join(row["scopes"]), row["created_at"],
            row["revoked_at"] or "",
        )  # fmt: skip
    console.print(table, crop=False)


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
