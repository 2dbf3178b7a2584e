"""Options every command shares, and the one place settings are built from flags."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from psycopg_pool import PoolTimeout
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from trailkeeper.deployment_key import DeploymentKeyError
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.signing import SigningKeyError

__all__ = ["DataDir", "DatabaseUrl", "JsonOut", "console", "open_service", "settings_from"]

console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory [env: TRAILKEEPER_DATA_DIR]", show_default=False
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="postgresql://… (default: SQLite in the data dir) [env: TRAILKEEPER_DATABASE_URL]",
        show_default=False,
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON")]


def settings_from(**flags: Any) -> Settings:
    """Flags win over ``TRAILKEEPER_*`` variables; unset flags leave them alone."""
    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            console.print(f"[red]error:[/] {field}: {error['msg']}")
        raise typer.Exit(2) from None


def open_service(settings: Settings) -> Trailkeeper:
    """Open the service, turning setup problems into one clear line and exit code 2."""
    try:
        return Trailkeeper.open(settings)
    except (DeploymentKeyError, SigningKeyError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
    except (psycopg.OperationalError, PoolTimeout, sqlite3.OperationalError) as exc:
        console.print(f"[red]error:[/] cannot open the database: {escape(str(exc))}")
    raise typer.Exit(2)
