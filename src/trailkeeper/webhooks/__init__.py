"""Outgoing webhooks (Standard Webhooks): signatures, the retry schedule, and
the dispatcher that sends what export jobs queue."""

from trailkeeper.webhooks.dispatcher import WebhookDispatcher
from trailkeeper.webhooks.schedule import RetrySchedule, parse_retry_after
from trailkeeper.webhooks.signing import signature_headers

__all__ = [
    "RetrySchedule",
    "WebhookDispatcher",
    "parse_retry_after",
    "signature_headers",
]
