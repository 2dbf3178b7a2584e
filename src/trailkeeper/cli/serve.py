"""``serve``: the API (and, as they arrive, the UI and workers) in one process."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Annotated

import typer

from trailkeeper.cli.demo import banner, seed_demo
from trailkeeper.cli.options import (
    AllowPrivateDestinations,
    CheckpointInterval,
    DatabaseUrl,
    DataDir,
    DownloadUrlTtl,
    ErasureBatch,
    ExportDailyQuota,
    ExportHistoryDays,
    ExportMaxDays,
    KeyName,
    MinRetentionDays,
    ObjectStoreUrl,
    OutboundTimeout,
    PoolSize,
    PublicUrl,
    RetentionBatch,
    RetentionDays,
    SecretKey,
    SigningKey,
    StreamLease,
    console,
    open_service,
    settings_from,
)
from trailkeeper.service import Trailkeeper
from trailkeeper.service.worker import BackgroundWorker
from trailkeeper.settings import Settings

__all__ = ["serve"]


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [default: 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 8000]")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Create a demo tenant with events")] = False,
    processes: Annotated[
        int,
        typer.Option(
            help="API processes: PostgreSQL, one per core; SQLite, keep 1 (one writer for all)",
            min=1,
            max=64,
        ),
    ] = 1,
    no_workers: Annotated[
        bool, typer.Option("--no-workers", help="Serve the API only; run workers elsewhere")
    ] = False,
    allow_private_destinations: AllowPrivateDestinations = None,
    read_rate_limit: Annotated[
        int | None, typer.Option(help="Read requests per token per minute [default: 60]")
    ] = None,
    ingest_rate_limit: Annotated[
        int | None, typer.Option(help="Ingest requests per token per minute [default: 1200]")
    ] = None,
    max_body_bytes: Annotated[
        int | None, typer.Option(help="Largest request body [default: 10 MiB]")
    ] = None,
    ingest_inflight_bytes: Annotated[
        int | None,
        typer.Option(help="Ingest body bytes parsed at once, else 429 [default: 32 MiB]"),
    ] = None,
    pool_size: PoolSize = None,
    public_url: PublicUrl = None,
    secret_key: SecretKey = None,
    key_name: KeyName = None,
    signing_key: SigningKey = None,
    checkpoint_interval: CheckpointInterval = None,
    object_store: ObjectStoreUrl = None,
    export_max_days: ExportMaxDays = None,
    export_history_days: ExportHistoryDays = None,
    export_daily_quota: ExportDailyQuota = None,
    download_url_ttl: DownloadUrlTtl = None,
    outbound_timeout: OutboundTimeout = None,
    stream_lease: StreamLease = None,
    retention_days: RetentionDays = None,
    min_retention_days: MinRetentionDays = None,
    retention_batch: RetentionBatch = None,
    erasure_batch: ErasureBatch = None,
    ui_session_ttl: Annotated[
        int | None, typer.Option(help="Seconds a web UI sign-in lasts [default: 28800]")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the API on the embedded SQLite default, or on PostgreSQL.

    Every option can also be set as TRAILKEEPER_<OPTION>; flags win."""
    # every other parameter is the Settings field of its name
    flags = {k: v for k, v in locals().items() if k not in ("demo", "processes", "no_workers")}
    _run(settings_from(**flags), demo=demo, processes=processes, workers=not no_workers)


def _run(settings: Settings, *, demo: bool, processes: int, workers: bool) -> None:
    """Open the service, seed the demo, start the workers and serve until stopped."""
    service = open_service(settings, create=True)
    try:
        if demo:
            base = f"http://{settings.host}:{settings.port}"
            for line in banner(seed_demo(service), base, ui=_has_ui()):
                print(line, file=sys.stderr, flush=True)  # plain: Rich would wrap the curl line
        if settings.public_url is None:
            service.export_runner.serving_at = own_address(settings.host, settings.port)
        worker = None
        if workers:
            worker = BackgroundWorker.for_service(service)
            worker.start()
        try:
            _uvicorn(service, settings, processes)
        finally:
            if worker is not None:
                worker.stop()
    finally:
        service.close()


def _uvicorn(service: Trailkeeper, settings: Settings, processes: int) -> None:
    """Serve the API until stopped: in this process, or in ``processes`` children."""
    import uvicorn  # imported here: the other commands should start fast

    from trailkeeper.api import create_app
    from trailkeeper.api.factory import PARENT_VARIABLE
    from trailkeeper.api.httpserver import TrailkeeperHttp
    from trailkeeper.heap import settle_heap

    if processes == 1:
        app = create_app(service)
        settle_heap()
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="info",
            http=TrailkeeperHttp,  # uvicorn's, with cheaper access lines and writes
        )
        return
    os.environ.update(settings.to_environment())
    os.environ[PARENT_VARIABLE] = str(os.getpid())  # children die with this one
    uvicorn.run(
        "trailkeeper.api.factory:app_from_environment",
        factory=True,
        workers=processes,
        # a child that starts slowly on a busy host is not a hung one (5 s by default:
        # children were killed and restarted in a loop)
        timeout_worker_healthcheck=60,
        host=settings.host,
        port=settings.port,
        log_level="info",
        http=TrailkeeperHttp,
    )


def _has_ui() -> bool:
    """Whether this build serves the web UI at ``/`` (its package is there)."""
    return any(importlib.util.find_spec(f"trailkeeper.{name}") for name in ("ui", "web"))


def own_address(host: str, port: int) -> str | None:
    """Where webhook links may point when no public URL is set: the address listened on,
    unless it is every interface (no one address to give)."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (compared, not bound)
        console.print(
            "[yellow]warning:[/] listening on every interface without --public-url: exports "
            "with a webhook_url stay queued until a process with --public-url runs them"
        )
        return None
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
