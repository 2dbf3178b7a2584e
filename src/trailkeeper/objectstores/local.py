"""Exported files under ``<data_dir>/exports``, served by trailkeeper itself
through signed, expiring links (``GET /v1/downloads/{key}``).

Files are published by rename: a reader sees the whole file or none, and after
a crash there is never a half-written export under a real key."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from trailkeeper.errors import Forbidden, NotFound
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.objectstores.keys import InvalidObjectKey, check_key
from trailkeeper.objectstores.links import LinkSigner

__all__ = ["LocalObjectStore"]

_READ_CHUNK = 1024 * 1024
_STALE_LINK = "Ask for a fresh one: GET /v1/exports/{id} returns a new download_url"


def _fsync_path(path: Path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (the directory entry itself)."""
    _fsync_path(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


class LocalObjectStore:
    def __init__(
        self,
        root: Path,
        link_key: bytes,
        ttl: int,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.root = root
        self.ttl = ttl
        self._links = LinkSigner(link_key)
        self._clock = clock or (lambda: datetime.now(UTC))

    # writing -----------------------------------------------------------------
    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Rename ``path`` into place (fsynced first); copy when it is on
        another file system. The content type is implied by the name."""
        target = self._target(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o600)  # exports hold personal data
        _fsync_path(path)
        try:
            os.replace(path, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:  # on another file system: copy instead
                raise
            with path.open("rb") as source:
                self._write(target, lambda out: shutil.copyfileobj(source, out))
            return
        self._fsync_folders(target)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        target = self._target(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._write(target, lambda out: out.write(data))

    def _write(self, target: Path, fill: Callable[[BinaryIO], object]) -> None:
        """Fill a hidden temporary file beside ``target``, fsync, rename into place."""
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-")
        try:
            with os.fdopen(fd, "wb") as out:  # mkstemp makes it 0600
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        self._fsync_folders(target)

    def _fsync_folders(self, target: Path) -> None:
        """fsync the folders from ``target``'s up to the data dir, so that
        folders made for it survive a crash along with the file."""
        folder = target.parent
        while True:
            _fsync_dir(folder)
            if folder == self.root.parent or folder == folder.parent:
                return
            folder = folder.parent

    # reading -----------------------------------------------------------------
    def exists(self, key: str) -> bool:
        return self._target(key).is_file()

    def delete(self, key: str) -> None:
        self._target(key).unlink(missing_ok=True)

    def read_chunks(self, key: str) -> Iterator[bytes]:
        with self._target(key).open("rb") as stored:
            while chunk := stored.read(_READ_CHUNK):
                yield chunk

    def download_url(self, key: str, base_url: str) -> tuple[str, datetime]:
        check_key(key)
        expires = int(self._clock().timestamp()) + self.ttl
        return self._links.url(base_url, key, expires), datetime.fromtimestamp(expires, UTC)

    def check_download(self, key: str, expires: int, signature: str) -> Path:
        """The file a download link points to, once its signature and expiry
        hold: 403 for a link trailkeeper did not make or that expired, 404
        when the file is gone."""
        try:
            target = self._target(key)
        except InvalidObjectKey:
            raise Forbidden("This download link is not valid. " + _STALE_LINK) from None
        if not self._links.verify(key, expires, signature):
            raise Forbidden(
                "This download link is not valid: its signature does not match its file "
                "and expiry (was it changed or cut short?). " + _STALE_LINK
            )
        if self._clock().timestamp() >= expires:
            when = format_timestamp(datetime.fromtimestamp(expires, UTC))
            raise Forbidden(f"This download link expired at {when}. " + _STALE_LINK)
        if not target.is_file():
            raise NotFound("This export file no longer exists (retention may have removed it)")
        return target

    def _target(self, key: str) -> Path:
        """``root/key``; the key is checked, and the result must stay under root
        even through symbolic links."""
        target = self.root / check_key(key)
        root = self.root.resolve()
        if not target.resolve().is_relative_to(root):
            raise InvalidObjectKey("the key leads outside the exports directory")
        return target
