"""Exported files in an S3 bucket (or any S3-compatible store), downloaded
through presigned GET URLs.

Credentials, region and endpoint come from boto3's own configuration chain
(``AWS_*`` variables, shared config files, instance roles); trailkeeper reads
none of them itself. With an endpoint URL (``AWS_ENDPOINT_URL``, e.g. MinIO),
requests use path-style addressing, which every such store serves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from trailkeeper.objectstores.keys import check_key, file_name
from trailkeeper.objectstores.media import content_disposition

__all__ = ["S3ObjectStore", "default_transfer_config", "make_s3_client", "parse_s3_url"]

MiB = 1024 * 1024
_READ_CHUNK = MiB
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def default_transfer_config() -> TransferConfig:
    """Multipart above 16 MiB, 16 MiB parts, 4 at a time: an upload holds at
    most about 64 MiB in memory whatever the file's size."""
    return TransferConfig(
        multipart_threshold=16 * MiB, multipart_chunksize=16 * MiB, max_concurrency=4
    )


def make_s3_client() -> Any:
    """An S3 client from boto3's configuration chain.

    SigV4 always: without it botocore presigns some URLs with the retired
    SigV2. Addressing is left to botocore ("auto"), which uses path style
    whenever an endpoint URL is configured and virtual-hosted style on AWS; an
    ``addressing_style`` in the AWS config file still applies."""
    return boto3.session.Session().client("s3", config=Config(signature_version="s3v4"))


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` → ``("bucket", "some/prefix")``."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"expected s3://bucket[/prefix], got {url!r}")
    return parts.netloc, parts.path.strip("/")


class S3ObjectStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        ttl: int,
        client: Any | None = None,
        transfer_config: TransferConfig | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.ttl = ttl
        self._client = client if client is not None else make_s3_client()
        self._transfer = transfer_config or default_transfer_config()

    @classmethod
    def from_url(cls, url: str, *, ttl: int) -> S3ObjectStore:
        bucket, prefix = parse_s3_url(url)
        return cls(bucket, prefix, ttl=ttl)

    def full_key(self, key: str) -> str:
        """The key in the bucket: under the prefix, if there is one."""
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """boto3's managed upload: multipart for large files, aborted on failure,
        so a partial object is never visible."""
        self._client.upload_file(
            str(path),
            self.bucket,
            self.full_key(key),
            ExtraArgs=self._object_args(key, content_type),
            Config=self._transfer,
        )

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self._client.put_object(
            Bucket=self.bucket,
            Key=self.full_key(key),
            Body=data,
            **self._object_args(key, content_type),
        )

    @staticmethod
    def _object_args(key: str, content_type: str) -> dict[str, str]:
        return {
            "ContentType": content_type,
            "ContentDisposition": content_disposition(file_name(key)),
        }

    def download_url(self, key: str, base_url: str) -> tuple[str, datetime]:
        """A presigned GET valid for ``ttl`` seconds. The expiry reported is
        taken before signing, so it is never later than the URL's own."""
        now = datetime.now(UTC).replace(microsecond=0)
        url = self._client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self.full_key(key),
                "ResponseContentDisposition": content_disposition(file_name(key)),
            },
            ExpiresIn=self.ttl,
        )
        return str(url), now + timedelta(seconds=self.ttl)

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self.full_key(key))

    def read_chunks(self, key: str) -> Iterator[bytes]:
        body = self._client.get_object(Bucket=self.bucket, Key=self.full_key(key))["Body"]
        try:
            yield from body.iter_chunks(chunk_size=_READ_CHUNK)
        finally:
            body.close()
