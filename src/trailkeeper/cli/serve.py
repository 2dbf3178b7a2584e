"""``serve``: the API (and, as they arrive, the UI and workers) in one process."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
import uvicorn

from trailkeeper.api import create_app
from trailkeeper.cli.options import DatabaseUrl, DataDir, console, settings_from
from trailkeeper.demo import demo_events
from trailkeeper.events.batch import MAX_BATCH
from trailkeeper.service import Trailkeeper

__all__ = ["serve"]

DEMO_TENANT = "demo"


def seed_demo(service: Trailkeeper) -> str:
    """Create the demo tenant with ~2,000 events (first time only); return an admin token."""
    tenancy = service.tenancy
    existing = service.store.tenant_by_name(DEMO_TENANT)
    if existing is None:
        created = tenancy.create_tenant(DEMO_TENANT)
        tenant = tenancy.tenant(DEMO_TENANT)
        events = demo_events(datetime.now(UTC))
        for start in range(0, len(events), MAX_BATCH):
            service.ingest_events(tenant, events[start : start + MAX_BATCH])
        console.print(f"created tenant [bold]{DEMO_TENANT}[/] with {len(events):,} events")
        return created["admin_token"]
    token = tenancy.create_token(existing, "demo admin (serve --demo)", ["admin"], actor=None)
    return str(token["token"])


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [default: 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 8000]")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Create a demo tenant with events")] = False,
    no_workers: Annotated[
        bool, typer.Option("--no-workers", help="Serve the API only; run workers elsewhere")
    ] = False,
    allow_private_destinations: Annotated[
        bool | None,
        typer.Option("--allow-private-destinations", help="Allow loopback/private webhook targets"),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the API on the embedded SQLite default, or on PostgreSQL."""
    settings = settings_from(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        allow_private_destinations=allow_private_destinations,
    )
    service = Trailkeeper.open(settings)
    try:
        if demo:
            token = seed_demo(service)
            base = f"http://{settings.host}:{settings.port}"
            console.print(f"API docs:     [bold]{base}/docs[/]")
            console.print(f"admin token:  [bold]{token}[/]  (tenant {DEMO_TENANT})")
            console.print(
                f"try:          curl -H 'Authorization: Bearer {token}' '{base}/v1/events?limit=5'"
            )
        uvicorn.run(create_app(service), host=settings.host, port=settings.port, log_level="info")
    finally:
        service.close()
