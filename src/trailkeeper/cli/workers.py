"""``worker`` and ``keys``: background work without the API, and the verifier key."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from trailkeeper.cli.options import (
    AllowPrivateDestinations,
    DatabaseUrl,
    DataDir,
    DownloadUrlTtl,
    ErasureBatch,
    ExportDailyQuota,
    ExportHistoryDays,
    ExportMaxDays,
    JsonOut,
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
from trailkeeper.existing import NoDeployment, require_deployment
from trailkeeper.service.worker import BackgroundWorker
from trailkeeper.signing import SigningKeyError, load_signer

__all__ = ["keys", "worker"]

keys = typer.Typer(help="The checkpoint signing key.", no_args_is_help=True, rich_markup_mode=None)


def worker(
    checkpoint_interval: Annotated[
        float | None, typer.Option(help="Seconds between checkpoints, at most 10 [default: 5]")
    ] = None,
    key_name: Annotated[
        str | None, typer.Option(help="Name in the signing key [default: trailkeeper]")
    ] = None,
    signing_key: Annotated[
        str | None, typer.Option(help="Checkpoint signer key (prefer the environment)")
    ] = None,
    secret_key: Annotated[
        str | None, typer.Option(help="Deployment key, base64 (prefer the environment)")
    ] = None,
    pool_size: Annotated[
        int | None, typer.Option(help="PostgreSQL connections [default: 8]")
    ] = None,
    allow_private_destinations: AllowPrivateDestinations = None,
    object_store: ObjectStoreUrl = None,
    export_max_days: ExportMaxDays = None,
    export_history_days: ExportHistoryDays = None,
    export_daily_quota: ExportDailyQuota = None,
    download_url_ttl: DownloadUrlTtl = None,
    outbound_timeout: OutboundTimeout = None,
    public_url: PublicUrl = None,
    stream_lease: StreamLease = None,
    retention_days: RetentionDays = None,
    min_retention_days: MinRetentionDays = None,
    retention_batch: RetentionBatch = None,
    erasure_batch: ErasureBatch = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the background workers (checkpoints, exports, webhooks, streams) until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = settings_from(
        data_dir=data_dir,
        database_url=database_url,
        checkpoint_interval=checkpoint_interval,
        key_name=key_name,
        signing_key=signing_key,
        secret_key=secret_key,
        pool_size=pool_size,
        allow_private_destinations=allow_private_destinations,
        object_store=object_store,
        export_max_days=export_max_days,
        export_history_days=export_history_days,
        export_daily_quota=export_daily_quota,
        download_url_ttl=download_url_ttl,
        outbound_timeout=outbound_timeout,
        public_url=public_url,
        stream_lease=stream_lease,
        retention_days=retention_days,
        min_retention_days=min_retention_days,
        retention_batch=retention_batch,
        erasure_batch=erasure_batch,
    )
    service = open_service(settings, create=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if not service.export_runner.links_known:
        console.print(
            "[yellow]warning:[/] no --public-url (TRAILKEEPER_PUBLIC_URL): this worker cannot "
            "know the download links an export webhook carries, so it leaves exports with a "
            "webhook_url queued for a process that does (serve, or a worker with --public-url)"
        )
    background = BackgroundWorker.for_service(service)
    background.start()
    console.print(f"worker running ({service.store.backend}); Ctrl-C to stop")
    try:
        stop.wait()
    finally:
        background.stop()
        service.close()


@keys.command("show")
def keys_show(
    data_dir: DataDir = None, database_url: DatabaseUrl = None, json: JsonOut = False
) -> None:
    """Print the verifier key (name+id+key) that checks checkpoint signatures.

    Refuses, naming the data dir, where there is no key: it never makes one."""
    settings = settings_from(data_dir=data_dir, database_url=database_url)
    try:
        require_deployment(settings, database=False)
        signer = load_signer(settings)
    except (SigningKeyError, NoDeployment) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    verifier = signer.verifier().key_string
    if json:
        typer.echo(orjson.dumps({"verifier_key": verifier, "key_name": signer.name}).decode())
    else:
        typer.echo(verifier)
