"""Sends the queued webhooks.

Each pass claims the deliveries that are due (leased in the database, so that
several processes never send the same attempt), sends them concurrently, and
records every outcome: delivered on a 2xx, otherwise the next attempt from the
schedule, or given up. Any other answer (a redirect included: it is never
followed), a timeout, a connection error or a refused destination is a failed
attempt. One delivery's trouble never stops the others, and never escapes
``run_once``.

Logs name the delivery and the destination's scheme and host only: a webhook
URL's path or query may hold the receiver's secret."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import httpx
from cryptography.exceptions import InvalidTag

from trailkeeper.deployment_key import DeploymentKey
from trailkeeper.outbound.http import outbound_client
from trailkeeper.outbound.safety import DestinationRefused
from trailkeeper.settings import Settings
from trailkeeper.storage.protocols import WebhookDelivery, WebhookStore
from trailkeeper.storage.tenants import TenantLookup
from trailkeeper.webhooks.schedule import RetrySchedule, parse_retry_after
from trailkeeper.webhooks.signing import signature_headers

__all__ = ["Attempt", "DeliveryStore", "WebhookDispatcher"]

log = logging.getLogger("trailkeeper.webhooks")

THROTTLED = frozenset({429, 503})  # answers whose Retry-After we honour
GONE = 410  # Standard Webhooks: the receiver wants no more deliveries


class DeliveryStore(WebhookStore, TenantLookup, Protocol):
    """What the dispatcher reads and writes."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt came to."""

    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    final: bool = False  # no point in trying again

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class _Ready:
    delivery: WebhookDelivery
    url: str
    secret: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WebhookDispatcher:
    def __init__(
        self,
        store: DeliveryStore,
        key: DeploymentKey,
        settings: Settings,
        *,
        client_factory: Callable[[], httpx.Client] | None = None,
        schedule: RetrySchedule | None = None,
        clock: Callable[[], datetime] = _utcnow,
        batch_size: int = 8,
        lease_seconds: float | None = None,
    ) -> None:
        self._store = store
        self._key = key
        self._client_factory = client_factory or (lambda: outbound_client(settings))
        self._schedule = schedule or RetrySchedule()
        self._clock = clock
        self._batch_size = batch_size
        # Connect, send and read may each take the whole timeout; the lease must
        # outlast a pass, or another process could send the same attempt again.
        if lease_seconds is None:
            lease_seconds = 3 * settings.outbound_timeout + 30
        self.lease_seconds = lease_seconds

    def run_once(self) -> int:
        """Send the deliveries that are due; return how many were attempted."""
        deliveries = self._store.claim_deliveries(self.lease_seconds, self._batch_size)
        if not deliveries:
            return 0
        ready: list[_Ready | Attempt] = [self._prepare(d) for d in deliveries]
        with self._client_factory() as client:
            attempts = self._send_all(client, ready)
        for delivery, attempt in zip(deliveries, attempts, strict=True):
            self._record(delivery, attempt)
        return len(deliveries)

    def _prepare(self, delivery: WebhookDelivery) -> _Ready | Attempt:
        """Open the URL and the tenant's secret (in this thread: it reads the store)."""
        try:
            url = self._key.open(delivery.url_sealed)
            tenant = self._store.tenant_by_id(delivery.tenant_id)
            if tenant is None:
                return Attempt(error="the tenant no longer exists", final=True)
            return _Ready(delivery, url, self._key.open(tenant.webhook_secret_sealed))
        except (InvalidTag, UnicodeDecodeError):
            return Attempt(error="the stored URL or secret cannot be decrypted", final=True)
        except Exception:
            log.exception("webhook %s: could not prepare the delivery", delivery.id)
            return Attempt(error="internal error while preparing the delivery")

    def _send_all(self, client: httpx.Client, ready: Sequence[_Ready | Attempt]) -> list[Attempt]:
        def send(item: _Ready | Attempt) -> Attempt:
            return item if isinstance(item, Attempt) else self._send(client, item)

        if len(ready) == 1:
            return [send(ready[0])]
        with ThreadPoolExecutor(len(ready), thread_name_prefix="trailkeeper-webhook") as pool:
            return list(pool.map(send, ready))

    def _send(self, client: httpx.Client, ready: _Ready) -> Attempt:
        """POST the stored payload, byte for byte, freshly signed; never raises."""
        delivery = ready.delivery
        try:
            headers = signature_headers(ready.secret, delivery.id, delivery.payload, self._clock())
        except Exception as exc:  # the library's errors for a bad secret are not typed
            log.error("webhook %s cannot be signed: %s", delivery.id, type(exc).__name__)
            return Attempt(error="cannot sign: the webhook secret or id is not usable", final=True)
        try:
            with client.stream("POST", ready.url, content=delivery.payload, headers=headers) as r:
                # The body is not read: nothing in it matters, and it could be huge.
                return _answer(r.status_code, r.headers.get("retry-after"), self._clock())
        except DestinationRefused as exc:
            return Attempt(error=f"destination refused: {exc.message}")
        except httpx.TimeoutException:
            return Attempt(error="timed out")
        except httpx.ConnectError as exc:
            return Attempt(error=f"could not connect: {str(exc)[:200]}")
        except httpx.HTTPError as exc:
            return Attempt(error=f"request failed: {type(exc).__name__}")
        except Exception:
            log.exception("webhook %s: unexpected error while sending", delivery.id)
            return Attempt(error="internal error while sending")

    def _record(self, delivery: WebhookDelivery, attempt: Attempt) -> None:
        number = delivery.attempts + 1
        next_at = None
        if not attempt.delivered and not attempt.final:
            next_at = self._schedule.next_attempt(
                created_at=delivery.created_at,
                attempts=number,
                now=self._clock(),
                retry_after=attempt.retry_after,
            )
        _log_outcome(delivery, number, attempt, next_at)
        try:
            self._store.delivery_attempted(
                delivery.id,
                delivered=attempt.delivered,
                next_attempt_at=next_at,
                status_code=attempt.status_code,
                error=attempt.error,
            )
        except Exception:
            # The lease runs out and the delivery is tried again: at least once.
            log.exception("webhook %s: could not record attempt %d", delivery.id, number)


def _answer(status: int, retry_after: str | None, now: datetime) -> Attempt:
    if 200 <= status < 300:
        return Attempt(status_code=status)
    if 300 <= status < 400:
        return Attempt(status_code=status, error=f"HTTP {status}: redirects are not followed")
    if status == GONE:
        return Attempt(status_code=status, error="HTTP 410: the receiver is gone", final=True)
    wait = parse_retry_after(retry_after, now) if status in THROTTLED else None
    return Attempt(status_code=status, error=f"HTTP {status}", retry_after=wait)


def _log_outcome(
    delivery: WebhookDelivery, number: int, attempt: Attempt, next_at: datetime | None
) -> None:
    if attempt.delivered:
        log.info(
            "webhook %s delivered (HTTP %s, attempt %d)", delivery.id, attempt.status_code, number
        )
    elif next_at is not None:
        log.warning(
            "webhook %s attempt %d failed: %s; next attempt at %s",
            delivery.id, number, attempt.error, next_at.isoformat(),
        )  # fmt: skip
    else:
        log.warning(
            "webhook %s attempt %d failed: %s; giving up", delivery.id, number, attempt.error
        )
