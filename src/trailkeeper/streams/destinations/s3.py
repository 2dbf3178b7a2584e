"""S3 streams: each batch becomes one gzip'd JSON Lines object,
``<prefix>/<stream id>/YYYY/MM/DD/<first seq>-<last seq>.jsonl.gz`` (the UTC day of
delivery; seqs zero-padded so that keys sort in log order). A batch retried the
same day is written to the same key, so a retry replaces rather than repeats.

Credentials come from boto3's own chain (``AWS_*`` variables, config files,
instance roles), as for exported files. A custom ``endpoint_url`` was checked
against the outbound rules when the stream was made, and is checked again, name
resolved anew, before every request (botocore's ``before-send``): a DNS answer that
turns private after the check at creation is refused, not sent to."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from trailkeeper.outbound.safety import (
    DestinationRefused,
    Resolver,
    check_destination,
    resolve_host,
)
from trailkeeper.streams.config import S3Config
from trailkeeper.streams.destinations.base import ACCEPTED, Batch, Outcome
from trailkeeper.streams.formats import Item

__all__ = ["S3Stream", "object_key"]

MiB = 1024 * 1024
_PERMANENT = frozenset(
    {
        "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket",
        "AllAccessDisabled", "InvalidBucketName", "AuthorizationHeaderMalformed",
        "PermanentRedirect", "InvalidArgument", "InvalidRequest", "ExpiredToken",
    }
)  # fmt: skip


def object_key(prefix: str, batch: Batch, now: datetime) -> str:
    day = now.astimezone(UTC).strftime("%Y/%m/%d")
    name = f"{batch.first_seq:012d}-{batch.last_seq:012d}.jsonl.gz"
    parts = [prefix.strip("/"), batch.stream_id, day, name]
    return "/".join(part for part in parts if part)


def make_client(
    config: S3Config, timeout: float, allow_private: bool, resolver: Resolver = resolve_host
) -> Any:
    options = Config(
        signature_version="s3v4",
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 1, "mode": "standard"},  # the engine retries
        s3={"addressing_style": "path"} if config.endpoint_url else None,
    )
    client = boto3.session.Session().client(
        "s3", region_name=config.region, endpoint_url=config.endpoint_url, config=options
    )
    if config.endpoint_url is not None:

        def check_before_sending(request: Any, **_: Any) -> None:
            """Raises ``DestinationRefused`` (out of ``put_object``) for a private answer."""
            check_destination(request.url, allow_private=allow_private, resolver=resolver)

        client.meta.events.register("before-send.s3", check_before_sending)
    return client


class S3Stream:
    max_events = 10_000
    max_bytes = 16 * MiB
    linger = 1.0  # seconds to gather a batch: fewer, larger objects

    def __init__(self, config: S3Config, client: Callable[[], Any]) -> None:
        self._config = config
        self._make_client = client
        self._client: Any | None = None

    def encode(self, item: Item) -> bytes:
        return item.encoded + b"\n"

    def send(self, batch: Batch) -> Outcome:
        key = object_key(self._config.prefix, batch, datetime.now(UTC))
        body = gzip.compress(b"".join(batch.pieces), compresslevel=6)
        try:
            if self._client is None:
                self._client = self._make_client()
            self._client.put_object(
                Bucket=self._config.bucket, Key=key, Body=body,
                ContentType="application/x-ndjson", ContentEncoding="gzip",
            )  # fmt: skip
        except DestinationRefused as exc:
            return Outcome("failing", f"S3: destination refused: {exc.message}")
        except NoCredentialsError:
            return Outcome("failing", "S3: no AWS credentials are configured for trailkeeper")
        except ClientError as exc:
            return _client_error(exc, self._config.bucket)
        except BotoCoreError as exc:
            return Outcome("retry", f"S3 request failed: {type(exc).__name__}")
        return ACCEPTED

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _client_error(exc: ClientError, bucket: str) -> Outcome:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "?"))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = f"S3 answered {code} for bucket {bucket}: {str(error.get('Message', ''))[:200]}"
    if code == "EntityTooLarge" or status == 413:
        return Outcome("too_large", message)
    if code in _PERMANENT or status in (400, 401, 403, 404):
        return Outcome("failing", message)
    return Outcome("retry", message)
