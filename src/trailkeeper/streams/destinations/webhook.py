"""Webhook streams: a batch of events POSTed as one Standard Webhooks message,
signed like export webhooks with the tenant's ``whsec_`` secret.

The body is ``{"type": "audit_log.events", "timestamp", "data": {"stream_id",
"events": [...]}}``. ``webhook-id`` is made from the stream and the batch's seq
range, so a retried batch carries the same id and receivers can drop repeats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import orjson

from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.streams.config import WebhookConfig
from trailkeeper.streams.destinations.base import Batch, Outcome, classify, post
from trailkeeper.streams.formats import Item
from trailkeeper.webhooks.signing import signature_headers

__all__ = ["WebhookStream", "message_id"]

MiB = 1024 * 1024
WHAT = "the webhook receiver"


def message_id(batch: Batch) -> str:
    return f"msg_{batch.stream_id}_{batch.first_seq}-{batch.last_seq}"


class WebhookStream:
    max_events = 500
    max_bytes = MiB

    def __init__(
        self, config: WebhookConfig, client: httpx.Client, secret: Callable[[], str]
    ) -> None:
        self._client = client
        self._url = config.url
        self._secret = secret

    def encode(self, item: Item) -> bytes:
        return item.encoded

    def body(self, batch: Batch, now: datetime) -> bytes:
        head = orjson.dumps({"type": "audit_log.events", "timestamp": format_timestamp(now)})[:-1]
        stream = orjson.dumps(batch.stream_id)
        events = b",".join(batch.pieces)
        return b'%b,"data":{"stream_id":%b,"events":[%b]}}' % (head, stream, events)

    def send(self, batch: Batch) -> Outcome:
        now = datetime.now(UTC)
        payload = self.body(batch, now)
        try:
            headers = signature_headers(self._secret(), message_id(batch), payload, now)
        except Exception as exc:  # the library's errors for a bad secret are not typed
            return Outcome("failing", f"cannot sign the webhook: {type(exc).__name__}")
        answer = post(self._client, self._url, WHAT, payload, headers)
        if isinstance(answer, Outcome):
            return answer
        if answer.status_code == 410:
            return Outcome("failing", "the webhook receiver answered HTTP 410 (gone)")
        return classify(answer, WHAT)

    def close(self) -> None:
        self._client.close()
