"""Object keys: where an exported file lives in a store.

Keys are built from tenant and resource names, which clients choose, so every
part is percent-encoded: no name can add a folder, climb out of one (``..``),
hide a file (a leading ``.``) or collide with another name. Stores check every
key again with ``check_key`` before they touch anything."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import quote

__all__ = ["WHOLE_TENANT", "InvalidObjectKey", "check_key", "file_name", "object_key"]

WHOLE_TENANT = "_all"
MAX_KEY_LENGTH = 900  # S3 allows 1,024 bytes; room is left for a prefix
MAX_SEGMENT = 120  # well under the 255 bytes a file name may have on disk
_KEEP = 80  # of a segment that is too long, before its hash
_EXPORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_EXTENSION = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


class InvalidObjectKey(ValueError):
    """A key that could escape its folder or name a hidden file; never stored."""


def encode_segment(text: str) -> str:
    """One folder name from any text: reversible, no ``/``, never starting with
    ``.`` or ``_`` (so never ``..``, a hidden file, or the reserved ``_all``)."""
    if not text:
        raise InvalidObjectKey("a key segment cannot be empty")
    encoded = quote(text, safe="").replace("~", "%7E")
    if encoded[0] in "._":
        encoded = f"%{ord(encoded[0]):02X}{encoded[1:]}"
    if len(encoded) <= MAX_SEGMENT:
        return encoded
    head = encoded[:_KEEP]
    if "%" in head[-2:]:  # do not cut an escape in half
        head = head[: head.rindex("%")]
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{head}~{digest}"  # "~" is always escaped above, so this cannot collide


def object_key(
    tenant: str,
    resource: Mapping[str, Any] | None,
    start: date,
    end: date,
    export_id: str,
    extension: str,
) -> str:
    """``tenant/type/id/start_end/export_id.ext``, or ``tenant/_all/…`` for a
    whole-tenant export: one folder per resource and window, easy to browse and
    to expire by prefix."""
    if not _EXPORT_ID.match(export_id):
        raise InvalidObjectKey(f"not a valid export id: {export_id[:64]!r}")
    extension = extension.lstrip(".")
    if not _EXTENSION.match(extension):
        raise InvalidObjectKey(f"not a valid file extension: {extension[:64]!r}")
    parts = [encode_segment(tenant)]
    if resource is None:
        parts.append(WHOLE_TENANT)
    else:
        parts += [encode_segment(str(resource["type"])), encode_segment(str(resource["id"]))]
    parts += [f"{start.isoformat()}_{end.isoformat()}", f"{export_id}.{extension}"]
    return check_key("/".join(parts))


def check_key(key: str) -> str:
    """``key`` if it is a plain relative path of visible names, else raise."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidObjectKey(f"a key must be 1 to {MAX_KEY_LENGTH} characters")
    if _CONTROL.search(key):
        raise InvalidObjectKey("a key cannot hold control characters or backslashes")
    for segment in key.split("/"):
        if not segment:
            raise InvalidObjectKey("a key cannot be absolute or hold an empty folder name")
        if segment.startswith("."):
            raise InvalidObjectKey("no part of a key may start with '.' (no '..', no hidden files)")
    return key


def file_name(key: str) -> str:
    """The last part of a key: the name a browser saves the download under."""
    return key.rsplit("/", 1)[-1]
