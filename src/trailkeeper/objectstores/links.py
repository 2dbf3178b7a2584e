"""Signed download links for files trailkeeper serves itself.

A link carries its expiry and an HMAC-SHA256 over that expiry and the key,
made with a key derived from the deployment key for this purpose only. Anyone
holding the link may download until it expires; nobody can make or stretch one
without the deployment key."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, urlencode

__all__ = ["PURPOSE", "LinkSigner"]

PURPOSE = b"trailkeeper downloads v1"


class LinkSigner:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the download link key must be at least 32 bytes")
        self._secret = secret

    def signature(self, key: str, expires: int) -> str:
        """Lowercase hex; the message is ``expires`` then ``key``, split by a
        newline (which no key holds), so no two pairs sign the same bytes."""
        message = b"%d\n%s" % (expires, key.encode())
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, key: str, expires: int, signature: str) -> bool:
        """Constant-time, so a forger learns nothing from how long a refusal takes."""
        expected = self.signature(key, expires).encode()
        return hmac.compare_digest(expected, signature.encode())

    def url(self, base_url: str, key: str, expires: int) -> str:
        """``{base_url}/v1/downloads/{key}?expires=…&signature=…``.

        The key is percent-encoded again (its own ``%`` escapes become ``%25``),
        so the server decodes it back to exactly what was signed."""
        query = urlencode({"expires": expires, "signature": self.signature(key, expires)})
        return f"{base_url.rstrip('/')}/v1/downloads/{quote(key, safe='/')}?{query}"
