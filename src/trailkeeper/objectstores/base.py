"""What an object store does for exports, whatever keeps the bytes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

__all__ = ["ObjectStore"]


class ObjectStore(Protocol):
    """Where exported files and their manifests go. Keys are relative paths
    (see ``keys.object_key``); every method refuses a key that could escape."""

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Publish the finished file at ``path`` under ``key``, whole or not at all.

        The store may move ``path`` (the local store renames it into place);
        the caller deletes it afterwards if it is still there."""
        ...

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Publish a small object (a manifest) under ``key``, whole or not at all."""
        ...

    def download_url(self, key: str, base_url: str) -> tuple[str, datetime]:
        """A URL that downloads ``key`` without a bearer token, and when it expires.

        ``base_url`` is where this deployment is reached (stores that serve
        their own URLs, like S3, ignore it)."""
        ...

    def exists(self, key: str) -> bool: ...

    def read_chunks(self, key: str) -> Iterator[bytes]:
        """The stored bytes of ``key``, read back from the store a chunk at a time
        (retention checks an archive this way before it deletes anything)."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens when it is already gone."""
        ...
