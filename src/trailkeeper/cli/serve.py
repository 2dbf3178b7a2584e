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
    DatabaseUrl,
    DataDir,
    DownloadUrlTtl,
    ErasureBatch,
    ExportDailyQuota,
    ExportHistoryDays,
    ExportMaxDays,
    MinRetentionDays,
    ObjectStoreUrl,
    OutboundTimeout,
    PublicUrl,
    RetentionBatch,
    RetentionDays,
    StreamLease,
    console,
    open_service,
    settings_from,
)
from trailkeeper.service.worker import BackgroundWorker

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
            help="API processes; more use more cores (the SQLite writer is shared)", min=1, max=64
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
    pool_size: Annotated[
        int | None, typer.Option(help="PostgreSQL connections per process [default: 8]")
    ] = None,
    public_url: PublicUrl = None,
    secret_key: Annotated[
        str | None,
        typer.Option(help="Deployment key, base64 (prefer the environment variable)"),
    ] = None,
    key_name: Annotated[
        str | None, typer.Option(help="Name in the signing key [default: trailkeeper]")
    ] = None,
    signing_key: Annotated[
        str | None,
        typer.Option(help="Checkpoint signer key PRIVATE+KEY+… (prefer the environment)"),
    ] = None,
    checkpoint_interval: Annotated[
        float | None, typer.Option(help="Seconds between checkpoints, at most 10 [default: 5]")
    ] = None,
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
    settings = settings_from(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        allow_private_destinations=allow_private_destinations,
        read_rate_limit=read_rate_limit,
        ingest_rate_limit=ingest_rate_limit,
        max_body_bytes=max_body_bytes,
        ingest_inflight_bytes=ingest_inflight_bytes,
        pool_size=pool_size,
        public_url=public_url,
        secret_key=secret_key,
        key_name=key_name,
        signing_key=signing_key,
        checkpoint_interval=checkpoint_interval,
        object_store=object_store,
        export_max_days=export_max_days,
        export_history_days=export_history_days,
        export_daily_quota=export_daily_quota,
        download_url_ttl=download_url_ttl,
        outbound_timeout=outbound_timeout,
        stream_lease=stream_lease,
        retention_days=retention_days,
        min_retention_days=min_retention_days,
        retention_batch=retention_batch,
        erasure_batch=erasure_batch,
        ui_session_ttl=ui_session_ttl,
    )
    import uvicorn  # imported here: the other commands should start fast

    from trailkeeper.api import create_app
    from trailkeeper.api.factory import PARENT_VARIABLE

    service = open_service(settings, create=True)
    try:
        if demo:
            base = f"http://{settings.host}:{settings.port}"
            for line in banner(seed_demo(service), base, ui=_has_ui()):
                print(line, file=sys.stderr, flush=True)  # plain: Rich would wrap the curl line
        if settings.public_url is None:
            service.export_runner.serving_at = own_address(settings.host, settings.port)
        worker = None
        if not no_workers:
            worker = BackgroundWorker.for_service(service)
            worker.start()
        try:
            if processes == 1:
                uvicorn.run(
                    create_app(service), host=settings.host, port=settings.port, log_level="info"
                )
            else:
                os.environ.update(settings.to_environment())
                os.environ[PARENT_VARIABLE] = str(os.getpid())  # children die with this one
                uvicorn.run(
                    "trailkeeper.api.factory:app_from_environment",
                    factory=True,
                    workers=processes,
                    # a child that starts slowly on a busy host is not a hung one (5 s
                    # by default: children were killed and restarted in a loop)
                    timeout_worker_healthcheck=60,
                    host=settings.host,
                    port=settings.port,
                    log_level="info",
                )
        finally:
            if worker is not None:
                worker.stop()
    finally:
        service.close()


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
