"""The ``trailkeeper`` command (Typer + Rich)."""

from __future__ import annotations

import typer

from trailkeeper.cli.admin import migrate, tenants, tokens
from trailkeeper.cli.ingest import ingest
from trailkeeper.cli.serve import serve

__all__ = ["app", "main"]

app = typer.Typer(
    name="trailkeeper",
    help="A self-hosted, verifiable audit log service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(serve)
app.command()(migrate)
app.command()(ingest)
app.add_typer(tenants, name="tenants")
app.add_typer(tokens, name="tokens")


def main() -> None:
    app()
