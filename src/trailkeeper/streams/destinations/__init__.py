"""Where streams deliver: one module per kind of SIEM, each speaking its protocol.

:func:`open_destination` builds a stream's destination from its stored record:
the secrets are unsealed here, in the delivering process, and only kept in memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from trailkeeper.deployment_key import DeploymentKey
from trailkeeper.outbound.http import outbound_client
from trailkeeper.settings import Settings
from trailkeeper.storage.streamsql import StreamRecord
from trailkeeper.streams.config import (
    AzureMonitorConfig,
    DatadogConfig,
    ElasticsearchConfig,
    S3Config,
    SplunkHecConfig,
    SyslogConfig,
    WebhookConfig,
    parse_config,
)
from trailkeeper.streams.destinations.base import Batch, Destination, Outcome

__all__ = ["Batch", "Destination", "Outcome", "full_config", "open_destination"]


def full_config(record: StreamRecord, key: DeploymentKey) -> dict[str, Any]:
    """The stored config with its secrets unsealed."""
    secrets = {} if record.secrets_sealed is None else orjson.loads(key.open(record.secrets_sealed))
    return {**record.config, **secrets}


def open_destination(
    record: StreamRecord,
    key: DeploymentKey,
    settings: Settings,
    webhook_secret: Callable[[], str],
) -> Destination:
    config = parse_config(record.type, full_config(record, key))
    allow = settings.allow_private_destinations
    if isinstance(config, SplunkHecConfig):
        from trailkeeper.streams.destinations.splunk_hec import SplunkHec

        return SplunkHec(config, outbound_client(settings, verify=config.verify_tls))
    if isinstance(config, WebhookConfig):
        from trailkeeper.streams.destinations.webhook import WebhookStream

        return WebhookStream(config, outbound_client(settings), webhook_secret)
    if isinstance(config, S3Config):
        from trailkeeper.streams.destinations.s3 import S3Stream, make_client

        s3 = config
        return S3Stream(config, lambda: make_client(s3, settings.outbound_timeout, allow))
    if isinstance(config, SyslogConfig):
        from trailkeeper.streams.destinations.syslog import SyslogStream

        return SyslogStream(
            config, record.id, timeout=settings.outbound_timeout, allow_private=allow
        )
    return _more(config, record, settings)


def _more(config: Any, record: StreamRecord, settings: Settings) -> Destination:
    if isinstance(config, DatadogConfig):
        from trailkeeper.streams.destinations.datadog import DatadogStream

        return DatadogStream(config, outbound_client(settings))
    if isinstance(config, ElasticsearchConfig):
        from trailkeeper.streams.destinations.elasticsearch import ElasticsearchStream

        return ElasticsearchStream(config, outbound_client(settings))
    if isinstance(config, AzureMonitorConfig):
        from trailkeeper.streams.destinations.azure_monitor import AzureMonitorStream

        return AzureMonitorStream(config, outbound_client(settings))
    raise ValueError(f"no destination for stream type {record.type!r}")
