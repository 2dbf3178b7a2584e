"""Options every command shares, and the one place settings are built from flags."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from trailkeeper.deployment_key import DeploymentKeyError
from trailkeeper.errors import TrailkeeperError
from trailkeeper.existing import NoDeployment
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.signing import SigningKeyError

__all__ = [
    "AllowPrivateDestinations",
    "DataDir",
    "DatabaseUrl",
    "DownloadUrlTtl",
    "ErasureBatch",
    "ExportDailyQuota",
    "ExportHistoryDays",
    "ExportMaxDays",
    "JsonAlways",
    "JsonOut",
    "MinRetentionDays",
    "ObjectStoreUrl",
    "OutboundTimeout",
    "PublicUrl",
    "RetentionBatch",
    "RetentionDays",
    "StreamLease",
    "console",
    "emit",
    "fail",
    "open_service",
    "settings_from",
]

console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory: SQLite database, keys, exported files "
        "[default: ./trailkeeper-data] [env: TRAILKEEPER_DATA_DIR]",
        show_default=False,
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
JsonAlways = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON (this command always does)")
]
ObjectStoreUrl = Annotated[
    str | None,
    typer.Option(
        "--object-store",
        help="s3://bucket/prefix for exported files (AWS_* variables apply) [default: data dir]",
        show_default=False,
    ),
]
ExportMaxDays = Annotated[
    int | None, typer.Option(help="Longest export window in days [default: 30]")
]
ExportHistoryDays = Annotated[
    int | None, typer.Option(help="How many days back an export may start [default: 180]")
]
ExportDailyQuota = Annotated[
    int | None, typer.Option(help="Export requests per token per resource per day [default: 6]")
]
DownloadUrlTtl = Annotated[
    int | None, typer.Option(help="Seconds a download URL stays valid [default: 3600]")
]
OutboundTimeout = Annotated[
    float | None, typer.Option(help="Seconds before a webhook request times out [default: 10]")
]
PublicUrl = Annotated[
    str | None,
    typer.Option(
        help="Base URL this deployment is reached at (behind a proxy); the download links in "
        "webhooks point there [env: TRAILKEEPER_PUBLIC_URL]",
        show_default=False,
    ),
]
StreamLease = Annotated[
    float | None,
    typer.Option(
        help="Seconds before another process takes over a dead one's stream [default: 30]"
    ),
]
RetentionDays = Annotated[
    int | None,
    typer.Option(help="Retention period in days of tenants that set none [default: forever]"),
]
MinRetentionDays = Annotated[
    int | None,
    typer.Option(help="The shortest retention period a tenant may set, in days [default: 1]"),
]
RetentionBatch = Annotated[
    int | None, typer.Option(help="Events deleted per transaction by retention [default: 500]")
]
ErasureBatch = Annotated[
    int | None, typer.Option(help="Events erased per transaction by erasure [default: 5000]")
]
AllowPrivateDestinations = Annotated[
    bool | None,
    typer.Option(
        "--allow-private-destinations",
        help=(
            "Allow webhook and stream destinations on loopback and private networks"
            " (for development)"
        ),
    ),
]
CheckpointInterval = Annotated[
    float | None, typer.Option(help="Seconds between checkpoints, at most 10 [default: 5]")
]
KeyName = Annotated[str | None, typer.Option(help="Name in the signing key [default: trailkeeper]")]
SigningKey = Annotated[
    str | None, typer.Option(help="Checkpoint signer key PRIVATE+KEY+… (prefer the environment)")
]
SecretKey = Annotated[
    str | None, typer.Option(help="Deployment key, base64 (prefer the environment variable)")
]
PoolSize = Annotated[
    int | None, typer.Option(help="PostgreSQL connections per process [default: 8]")
]


def emit(data: Any) -> None:
    """A command's result, as JSON on standard output."""
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def fail(exc: TrailkeeperError) -> typer.Exit:
    console.print(f"[red]error:[/] {escape(exc.message)}")
    return typer.Exit(1)


def settings_from(**flags: Any) -> Settings:
    """Flags win over ``TRAILKEEPER_*`` variables; unset flags leave them alone."""
    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            console.print(f"[red]error:[/] {field}: {error['msg']}")
        raise typer.Exit(2) from None


def open_service(settings: Settings, *, create: bool = False) -> Trailkeeper:
    """Open the service, turning setup problems into one clear line and exit code 2.

    Only the commands that set a deployment up pass ``create``; the others refuse,
    naming the data dir, when there is none (``trailkeeper.existing``)."""
    try:
        return Trailkeeper.open(settings, create=create)
    except (DeploymentKeyError, SigningKeyError, NoDeployment) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
    except Exception as exc:
        if not isinstance(exc, _storage_errors(settings)):
            raise
        console.print(f"[red]error:[/] cannot open the database: {escape(str(exc))}")
    raise typer.Exit(2)


def _storage_errors(settings: Settings) -> tuple[type[Exception], ...]:
    """What opening the database raises when it cannot be reached. psycopg is imported
    only for PostgreSQL: it costs a SQLite deployment's processes ~10 MB of memory."""
    if settings.database_url is None:
        return (sqlite3.OperationalError,)
    from psycopg import OperationalError
    from psycopg_pool import PoolTimeout

    return (OperationalError, PoolTimeout)
