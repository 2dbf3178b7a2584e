"""``worker`` and ``keys``: background work without the API, and the verifier key."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import orjson
import typer
from rich.markup import escape

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
    JsonOut,
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
from trailkeeper.existing import NoDeployment, require_deployment
from trailkeeper.service.worker import BackgroundWorker
from trailkeeper.signing import SigningKeyError, load_signer

__all__ = ["keys", "worker"]

keys = typer.Typer(help="The checkpoint signing key.", no_args_is_help=True, rich_markup_mode=None)


def worker(
    checkpoint_interval: CheckpointInterval = None,
    key_name: KeyName = None,
    signing_key: SigningKey = None,
    secret_key: SecretKey = None,
    pool_size: PoolSize = None,
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
    settings = settings_from(**locals())  # each parameter is the Settings field of its name
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    service = open_service(settings, create=True)
    stop = _stop_on_signals()
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


def _stop_on_signals() -> threading.Event:
    """An event that SIGTERM or SIGINT (Ctrl-C) sets, instead of stopping the process."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


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
