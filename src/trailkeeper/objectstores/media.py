"""Content types and download headers, from a file's name."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import quote

__all__ = ["content_disposition", "media_type"]

_TYPES = {
    ".jsonl": "application/x-ndjson",
    ".csv": "text/csv",
    ".parquet": "application/vnd.apache.parquet",
    ".gz": "application/gzip",  # the outer layer is what a client receives
    ".json": "application/json",
}
_PLAIN = re.compile(r"^[A-Za-z0-9._-]+$")


def media_type(name: str) -> str:
    """``exp_1.csv.gz`` → ``application/gzip``; unknown → octet-stream."""
    return _TYPES.get(PurePosixPath(name).suffix.lower(), "application/octet-stream")


def content_disposition(name: str) -> str:
    """``attachment`` with the file name; RFC 6266 ``filename*`` when it is not plain."""
    if _PLAIN.match(name):
        return f'attachment; filename="{name}"'
    return f"attachment; filename*=UTF-8''{quote(name, safe='')}"
