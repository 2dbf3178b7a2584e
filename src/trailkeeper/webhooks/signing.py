"""Standard Webhooks signatures, made by the reference ``standardwebhooks``
library so that what receivers verify with it is exactly what we sign."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from standardwebhooks import Webhook

__all__ = ["signature_headers"]


def signature_headers(secret: str, message_id: str, payload: bytes, at: datetime) -> dict[str, str]:
    """The headers of one attempt: the same ``webhook-id`` on every attempt, this
    attempt's ``webhook-timestamp``, and the ``v1`` HMAC over both and the body.

    ``payload`` is signed as sent, byte for byte; receivers must verify the raw body."""
    if not message_id or "." in message_id:
        raise ValueError("a webhook-id is non-empty and has no '.' (it is part of the signed text)")
    moment = at.astimezone(UTC)  # the library reads the wall time as UTC
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, moment, payload.decode()),
        "content-type": "application/json",
    }
