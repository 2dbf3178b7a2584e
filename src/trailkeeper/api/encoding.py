"""``Content-Encoding`` of request bodies: identity or gzip, inflated within limits.

Log shippers and SDKs compress what they send. The body limit applies to the inflated
bytes (what is parsed and stored), and a ratio cap refuses a few compressed bytes that
would expand into megabytes ("zip bombs") before they are inflated further."""

from __future__ import annotations

import zlib

from trailkeeper.errors import InvalidRequest, PayloadTooLarge

__all__ = ["MAX_RATIO", "inflate"]

MAX_RATIO = 100
"""A gzip body may expand at most this many times (JSON audit events compress ~10×)."""


def inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body as sent before ``encoding``; at most ``limit`` bytes and ``MAX_RATIO``×."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return body
    if name not in ("gzip", "x-gzip"):
        raise InvalidRequest(
            f"Content-Encoding {name[:32]!r} is not supported; send gzip or identity"
        )
    ceiling = min(limit, MAX_RATIO * len(body))
    parts: list[bytes] = []
    size = 0
    rest = body
    while rest:  # a gzip stream may hold several members (cat a.gz b.gz)
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            part = inflater.decompress(rest, ceiling - size + 1)
        except zlib.error as exc:
            raise InvalidRequest(f"The gzip request body is corrupt: {exc}") from None
        size += len(part)
        if size > ceiling:
            raise _too_large(len(body), limit)
        if not inflater.eof:
            raise InvalidRequest("The gzip request body is truncated")
        parts.append(part)
        rest = inflater.unused_data
    return b"".join(parts)


def _too_large(sent: int, limit: int) -> PayloadTooLarge:
    if MAX_RATIO * sent < limit:
        return PayloadTooLarge(
            f"The gzip request body expands more than {MAX_RATIO} times its {sent:,} bytes; "
            "such ratios are refused. Send it uncompressed or compressed less"
        )
    return PayloadTooLarge(
        f"The request body is larger than {limit:,} bytes once decompressed: the events are "
        "too big together. Send fewer events per request (each event is at most 64 KiB)"
    )
