"""Files and folders under the data dir: made 0600 and 0700, since they hold keys,
names, emails, IPs and salts. Key files are made once, safe against racing starts."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["private_dir", "private_file", "read_or_create"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Make ``path`` and any missing parents 0700 (``mkdir(parents=True)`` would give the
    parents the umask's mode, usually 0755). Existing folders keep their mode."""
    missing = []
    folder = path
    while not folder.is_dir():
        missing.append(folder)
        if folder == folder.parent:
            break
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 unless it exists, so that whatever opens it next
    (SQLite, which gives its WAL and shared-memory files the database's mode) keeps it
    private."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    return path


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The file's text; if there is no file, write ``make()`` to it first.

    The content goes to a temporary file that is linked into place, so a process
    starting at the same moment sees either no file or a whole one, and the first
    to link wins."""
    private_dir(path.parent)
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
        try:
            with os.fdopen(fd, "w") as handle:  # mkstemp makes it 0600
                handle.write(make() + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text().strip()
