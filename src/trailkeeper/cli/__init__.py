"""The ``trailkeeper`` command (Typer + Rich)."""

from __future__ import annotations

import typer

from trailkeeper import logredact
from trailkeeper.cli.admin import migrate, tokens
from trailkeeper.cli.ingest import ingest
from trailkeeper.cli.retention import retention
from trailkeeper.cli.serve import serve
from trailkeeper.cli.streams import streams
from trailkeeper.cli.tenants import tenants
from trailkeeper.cli.verify import verify
from trailkeeper.cli.verify_export import verify_export
from trailkeeper.cli.workers import keys, worker

__all__ = ["app", "main"]

app = typer.Typer(
    name="trailkeeper",
    help="A self-hosted, verifiable audit log service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(serve)
app.command()(worker)
app.command()(migrate)
app.command()(ingest)
app.command()(verify)
app.command(name="verify-export")(verify_export)
app.add_typer(tenants, name="tenants")
app.add_typer(tokens, name="tokens")
app.add_typer(keys, name="keys")
app.add_typer(streams, name="streams")
app.add_typer(retention, name="retention")


def main() -> None:
    logredact.install()  # before any command logs (the worker's httpx requests included)
    app()
