"""Opaque, authenticated page cursors (CONTRACT section 5).

A cursor is ``base64url(payload || HMAC-SHA256(payload)[:16])`` where the
payload names the tenant, the order, a digest of the filters and the last
``seq`` served. Forged, truncated and mismatched cursors are all rejected."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import orjson

from trailkeeper.errors import InvalidCursor
from trailkeeper.events.query import EventQuery

__all__ = ["CursorCodec"]

_MAC = 16
_VERSION = 1


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC]

    def encode(self, tenant_id: int, query: EventQuery, seq: int) -> str:
        payload = orjson.dumps([_VERSION, tenant_id, query.order, query.digest(), seq])
        return base64.urlsafe_b64encode(payload + self._mac(payload)).rstrip(b"=").decode()

    def decode(self, cursor: str, tenant_id: int, query: EventQuery) -> int:
        """The ``seq`` to continue after; ``InvalidCursor`` if anything is off."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise _malformed() from None
        payload, mac = raw[:-_MAC], raw[-_MAC:]
        if len(raw) <= _MAC or not hmac.compare_digest(mac, self._mac(payload)):
            raise _malformed()
        version, tenant, order, digest, seq = orjson.loads(payload)
        if version != _VERSION or tenant != tenant_id:
            raise _malformed()
        if order != query.order or digest != query.digest():
            raise InvalidCursor(
                "This cursor was made for other filters or another order; repeat the "
                "request with the same filters it came from, or start again without a cursor"
            )
        return int(seq)


def _malformed() -> InvalidCursor:
    return InvalidCursor(
        "The cursor is malformed or was altered; use next_cursor exactly as returned, "
        "or start again without a cursor"
    )
