"""The dispatcher's decisions, against real receivers on 127.0.0.1 and an
in-memory queue (the real stores are in tests/integration/test_webhooks.py)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from receiver import Answer, Receiver
from trailkeeper.deployment_key import DeploymentKey
from trailkeeper.settings import Settings
from trailkeeper.storage.protocols import WebhookDelivery
from trailkeeper.storage.tenants import Tenant
from trailkeeper.webhooks import RetrySchedule, WebhookDispatcher

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
KEY = DeploymentKey(os.urandom(32))
NO_JITTER = RetrySchedule(jitter=0)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Row:
    delivery: WebhookDelivery
    next_attempt_at: datetime | None
    status: str = "pending"
    outcomes: list[dict[str, Any]] = field(default_factory=list)


class MemoryDeliveries:
    """An in-memory delivery queue with the stores' semantics, on a test clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.rows: dict[str, Row] = {}
        self.tenants = {1: Tenant(1, "acme", KEY.seal(SECRET))}
        self.fail_recording = False

    def add(self, url: str, *, id: str = "msg_1", tenant_id: int = 1, sealed: bytes | None = None,
            payload: bytes = b'{"type":"export.succeeded"}') -> str:  # fmt: skip
        delivery = WebhookDelivery(
            id, tenant_id, sealed or KEY.seal(url), payload, self.clock(), attempts=0
        )
        self.rows[id] = Row(delivery, self.clock())
        return id

    def claim_deliveries(self, lease_seconds: float, limit: int) -> list[WebhookDelivery]:
        now = self.clock()
        due = [
            r for r in self.rows.values()
            if r.status == "pending" and r.next_attempt_at is not None and r.next_attempt_at <= now
        ][:limit]  # fmt: skip
        for row in due:
            row.next_attempt_at = now + timedelta(seconds=lease_seconds)
        return [r.delivery for r in due]

    def delivery_attempted(self, delivery_id: str, **outcome: Any) -> None:
        if self.fail_recording:
            raise RuntimeError("database went away")
        row = self.rows[delivery_id]
        row.outcomes.append(outcome)
        row.delivery = replace(row.delivery, attempts=row.delivery.attempts + 1)
        row.next_attempt_at = outcome["next_attempt_at"]
        delivered = outcome["delivered"]
        row.status = "delivered" if delivered else "pending" if row.next_attempt_at else "failed"

    def tenant_by_id(self, tenant_id: int) -> Tenant | None:
        return self.tenants.get(tenant_id)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(clock: Clock) -> MemoryDeliveries:
    return MemoryDeliveries(clock)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, allow_private_destinations=True, outbound_timeout=0.5)


@pytest.fixture
def dispatcher(queue: MemoryDeliveries, settings: Settings, clock: Clock) -> WebhookDispatcher:
    return WebhookDispatcher(queue, KEY, settings, schedule=NO_JITTER, clock=clock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def test_a_delivery_is_signed_sent_as_stored_and_recorded(
    queue: MemoryDeliveries, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    payload = '{"type":"export.succeeded", "data":{"name":"Relatório ✓"}}'.encode()
    queue.add(receiver.url + "/hook?k=1", payload=payload)
    assert dispatcher.run_once() == 1
    (got,) = receiver.requests
    assert (got.method, got.path, got.body) == ("POST", "/hook?k=1", payload)
    assert Webhook(SECRET).verify(got.body, got.headers)["data"]["name"] == "Relatório ✓"
    assert queue.rows["msg_1"].status == "delivered"
    assert queue.rows["msg_1"].outcomes == [
        {"delivered": True, "next_attempt_at": None, "status_code": 200, "error": None}
    ]
    assert dispatcher.run_once() == 0
    assert len(receiver.requests) == 1


def test_nothing_due_makes_no_client(queue: MemoryDeliveries, settings: Settings) -> None:
    def no_client() -> httpx.Client:
        raise AssertionError("a client was made with nothing to send")

    assert WebhookDispatcher(queue, KEY, settings, client_factory=no_client).run_once() == 0


def test_a_failure_is_retried_on_schedule_with_the_same_id(
    queue: MemoryDeliveries, dispatcher: WebhookDispatcher, clock: Clock
) -> None:
    with Receiver(500, 502) as receiver:
        queue.add(receiver.url)
        dispatcher.run_once()
        row = queue.rows["msg_1"]
        assert row.outcomes[-1]["error"] == "HTTP 500"
        assert row.next_attempt_at == clock.now + timedelta(seconds=5)
        assert dispatcher.run_once() == 0  # not due yet
        clock.now = row.next_attempt_at
        dispatcher.run_once()
        assert row.next_attempt_at == clock.now + timedelta(seconds=300)
        clock.now = row.next_attempt_at
        dispatcher.run_once()
    assert row.status == "delivered"
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["msg_1"] * 3
    stamps = [int(r.headers["webhook-timestamp"]) for r in receiver.requests]
    assert stamps[1] - stamps[0] == 5
    assert stamps[2] - stamps[1] == 300


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_when_throttled(
    status: int, queue: MemoryDeliveries, dispatcher: WebhookDispatcher, clock: Clock
) -> None:
    with Receiver(Answer(status, {"Retry-After": "600"})) as receiver:
        queue.add(receiver.url)
        dispatcher.run_once()
    assert queue.rows["msg_1"].next_attempt_at == clock.now + timedelta(seconds=600)


def test_retry_after_on_other_errors_is_not_taken(
    queue: MemoryDeliveries, dispatcher: WebhookDispatcher, clock: Clock
) -> None:
    with Receiver(Answer(500, {"Retry-After": "600"})) as receiver:
        queue.add(receiver.url)
        dispatcher.run_once()
    assert queue.rows["msg_1"].next_attempt_at == clock.now + timedelta(seconds=5)


def test_410_gone_gives_up_at_once(queue: MemoryDeliveries, dispatcher: WebhookDispatcher) -> None:
    with Receiver(410) as receiver:
        queue.add(receiver.url)
        dispatcher.run_once()
    row = queue.rows["msg_1"]
    assert row.status == "failed"
    assert row.outcomes == [
        {"delivered": False, "next_attempt_at": None, "status_code": 410,
         "error": "HTTP 410: the receiver is gone"}
    ]  # fmt: skip


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failure_and_is_not_followed(
    status: int, queue: MemoryDeliveries, dispatcher: WebhookDispatcher
) -> None:
    with Receiver() as target, Receiver(Answer(status, {"Location": target.url})) as first:
        queue.add(first.url)
        dispatcher.run_once()
        assert target.requests == []
    outcome = queue.rows["msg_1"].outcomes[0]
    assert outcome["delivered"] is False
    assert outcome["status_code"] == status
    assert "redirects are not followed" in outcome["error"]
    assert outcome["next_attempt_at"] is not None


def test_a_refused_destination_is_a_failed_attempt(
    queue: MemoryDeliveries, tmp_path: Path, clock: Clock, receiver: Receiver
) -> None:
    strict = Settings(data_dir=tmp_path, allow_private_destinations=False)
    queue.add(receiver.url + "/hook?token=SECRET")
    WebhookDispatcher(queue, KEY, strict, schedule=NO_JITTER, clock=clock).run_once()
    outcome = queue.rows["msg_1"].outcomes[0]
    assert outcome["error"].startswith("destination refused: 127.0.0.1 is a loopback address")
    assert "SECRET" not in outcome["error"]
    assert outcome["next_attempt_at"] == clock.now + timedelta(seconds=5)
    assert receiver.requests == []


def test_one_bad_delivery_never_stops_the_others(
    queue: MemoryDeliveries, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    with Receiver(Answer(hang=True)) as slow:
        queue.add(slow.url, id="msg_slow")
        queue.add(receiver.url, id="msg_garbled", sealed=b"not a sealed value at all")
        queue.add(receiver.url, id="msg_orphan", tenant_id=404)
        queue.add("http://127.0.0.1:1/closed-port", id="msg_closed")
        queue.add(receiver.url, id="msg_good")
        assert dispatcher.run_once() == 5
    rows = queue.rows
    assert rows["msg_good"].status == "delivered"
    assert rows["msg_slow"].outcomes[0]["error"] == "timed out"
    assert rows["msg_slow"].status == "pending"
    assert rows["msg_closed"].outcomes[0]["error"].startswith("could not connect")
    assert rows["msg_closed"].status == "pending"
    assert rows["msg_garbled"].status == "failed"
    assert "cannot be decrypted" in rows["msg_garbled"].outcomes[0]["error"]
    assert rows["msg_orphan"].status == "failed"
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["msg_good"]


def test_an_unusable_secret_fails_that_delivery_only(
    queue: MemoryDeliveries, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    queue.tenants[2] = Tenant(2, "broken", KEY.seal("whsec_"))
    queue.add(receiver.url, id="msg_broken", tenant_id=2)
    queue.add(receiver.url, id="msg_fine")
    dispatcher.run_once()
    assert queue.rows["msg_broken"].status == "failed"
    assert "cannot sign" in queue.rows["msg_broken"].outcomes[0]["error"]
    assert queue.rows["msg_fine"].status == "delivered"
    assert len(receiver.requests) == 1


def test_a_store_failure_while_recording_does_not_escape(
    queue: MemoryDeliveries, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    queue.add(receiver.url, id="msg_a")
    queue.add(receiver.url, id="msg_b")
    queue.fail_recording = True
    assert dispatcher.run_once() == 2
    assert len(receiver.requests) == 2
    # Nothing was recorded: each stays leased and is sent again when the lease ends.
    assert all(row.status == "pending" for row in queue.rows.values())


def test_the_lease_outlasts_a_whole_pass(settings: Settings, queue: MemoryDeliveries) -> None:
    dispatcher = WebhookDispatcher(queue, KEY, settings)
    assert dispatcher.lease_seconds >= 3 * settings.outbound_timeout
