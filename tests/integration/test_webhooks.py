"""Export webhooks end to end, on SQLite and PostgreSQL: deliveries queued the
way export jobs queue them (``finish_export``), sent by the dispatcher to real
receivers on 127.0.0.1, and verified there with ``standardwebhooks`` exactly as
a customer would. Time beyond "now" is driven by an injected clock, never sleeps.

PostgreSQL tests share one database per session, and the delivery queue is not
per tenant, so assertions look only at this test's deliveries."""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from standardwebhooks import Webhook

from receiver import Answer, Receiver
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.storage.protocols import ExportRecord, NewDelivery, Store, WebhookDelivery
from trailkeeper.storage.tenants import Tenant
from trailkeeper.webhooks import RetrySchedule, WebhookDispatcher

IMMEDIATE = RetrySchedule(delays=(0,), jitter=0)  # failed attempts are due again at once
ONE_SHOT = RetrySchedule(horizon=timedelta(0))  # one attempt, then give up


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Receivers listen on 127.0.0.1, which deployments refuse unless allowed."""
    return settings.model_copy(update={"allow_private_destinations": True, "outbound_timeout": 1.0})


class Recording:
    """The real store, with every recorded outcome also kept for assertions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.outcomes: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def claim_deliveries(self, lease_seconds: float, limit: int) -> list[WebhookDelivery]:
        return self.store.claim_deliveries(lease_seconds, limit)

    def tenant_by_id(self, tenant_id: int) -> Tenant | None:
        return self.store.tenant_by_id(tenant_id)

    def delivery_attempted(self, delivery_id: str, **outcome: Any) -> None:
        self.outcomes[delivery_id].append(outcome)
        self.store.delivery_attempted(delivery_id, **outcome)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def new_tenant(service: Trailkeeper) -> tuple[Tenant, str]:
    """A tenant and its webhook secret (standard base64, as verifiers expect)."""
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    tenant = service.store.create_tenant(f"wh-{uuid.uuid4().hex[:10]}", service.key.seal(secret))
    return tenant, secret


def enqueue(
    service: Trailkeeper, tenant: Tenant, url: str, created_at: datetime | None = None
) -> NewDelivery:
    """Queue a delivery as the export runner does: in ``finish_export``."""
    now = datetime.now(UTC)
    export = ExportRecord(
        id=f"exp_{uuid.uuid4().hex}",
        tenant_id=tenant.id,
        token_id=f"tok_{uuid.uuid4().hex}",
        status="queued",
        spec={},
        webhook_url_sealed=service.key.seal(url),
        # The oldest job is claimed first; this one must be it.
        created_at=datetime(2000, 1, 1, tzinfo=UTC),
    )
    assert service.store.create_export(export, (export.token_id, "*", date.today()), quota=10)
    claimed = service.store.claim_export("test-runner", 60)
    assert claimed is not None
    assert claimed.id == export.id
    body = {"type": "export.succeeded", "timestamp": now.isoformat(), "data": {"id": export.id}}
    delivery = NewDelivery(
        id=f"msg_{export.id}",
        tenant_id=tenant.id,
        url_sealed=service.key.seal(url),
        payload=json.dumps(body, separators=(",", ":")).encode(),
        created_at=created_at or now,
    )
    finished = replace(claimed, status="succeeded", completed_at=now, event_count=0)
    assert service.store.finish_export(finished, "test-runner", delivery)
    return delivery


@pytest.fixture(autouse=True)
def no_deliveries_of_other_tests(settings: Settings) -> None:
    """A dispatcher claims every due delivery in its database. The PostgreSQL database is
    shared by the whole session, where earlier tests (exports with webhooks) may have left
    deliveries that fall due during these tests: they are removed first. Tests run one at
    a time; each SQLite test has its own file."""
    if settings.database_url is None:
        return
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('webhook_deliveries')").fetchone() != (None,):
            conn.execute("DELETE FROM webhook_deliveries")


def drain(dispatcher: WebhookDispatcher, limit: int = 50) -> None:
    """Run passes until nothing is due (bounded, so a bug cannot hang the suite)."""
    for _ in range(limit):
        if dispatcher.run_once() == 0:
            return
    raise AssertionError(f"deliveries were still due after {limit} passes")


def dispatcher_for(
    service: Trailkeeper, settings: Settings, **kwargs: Any
) -> tuple[WebhookDispatcher, Recording]:
    recording = Recording(service.store)
    return WebhookDispatcher(recording, service.key, settings, **kwargs), recording


def ids(receiver: Receiver) -> list[str]:
    return [r.headers["webhook-id"] for r in receiver.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def test_a_signed_delivery_verifies_as_a_customer_would(
    service: Trailkeeper, settings: Settings, receiver: Receiver
) -> None:
    tenant, secret = new_tenant(service)
    delivery = enqueue(service, tenant, receiver.url + "/audit?team=1")
    dispatcher, recording = dispatcher_for(service, settings)
    drain(dispatcher)

    (got,) = receiver.requests
    assert got.path == "/audit?team=1"
    assert got.body == delivery.payload  # byte for byte
    assert Webhook(secret).verify(got.body, got.headers) == json.loads(delivery.payload)
    assert got.headers["webhook-id"] == delivery.id
    assert got.headers["user-agent"].startswith("trailkeeper/")
    assert recording.outcomes[delivery.id] == [
        {"delivered": True, "next_attempt_at": None, "status_code": 200, "error": None}
    ]
    drain(dispatcher)
    assert len(receiver.requests) == 1  # delivered means never sent again


def test_a_500_is_retried_with_the_same_id_until_delivered(
    service: Trailkeeper, settings: Settings
) -> None:
    tenant, secret = new_tenant(service)
    with Receiver(500, 500) as receiver:
        delivery = enqueue(service, tenant, receiver.url)
        dispatcher, recording = dispatcher_for(service, settings, schedule=IMMEDIATE)
        drain(dispatcher)
    assert ids(receiver) == [delivery.id] * 3
    for got in receiver.requests:
        Webhook(secret).verify(got.body, got.headers)
    outcomes = recording.outcomes[delivery.id]
    assert [(o["delivered"], o["status_code"]) for o in outcomes] == [
        (False, 500),
        (False, 500),
        (True, 200),
    ]
    assert all(o["next_attempt_at"] is not None for o in outcomes[:2])


def test_a_redirect_is_not_followed(service: Trailkeeper, settings: Settings) -> None:
    tenant, _ = new_tenant(service)
    with (
        Receiver() as target,
        Receiver(Answer(302, {"Location": target.url + "/stolen"})) as first,
    ):
        delivery = enqueue(service, tenant, first.url)
        dispatcher, recording = dispatcher_for(service, settings, schedule=ONE_SHOT)
        drain(dispatcher)
        assert target.requests == []
    assert ids(first) == [delivery.id]
    (outcome,) = recording.outcomes[delivery.id]
    assert outcome["delivered"] is False
    assert outcome["status_code"] == 302
    assert outcome["next_attempt_at"] is None  # given up (one-shot schedule)


def test_a_timeout_is_a_failed_attempt(service: Trailkeeper, settings: Settings) -> None:
    tenant, secret = new_tenant(service)
    with Receiver(Answer(hang=True)) as receiver:
        delivery = enqueue(service, tenant, receiver.url)
        dispatcher, recording = dispatcher_for(service, settings, schedule=IMMEDIATE)
        drain(dispatcher)
    first, second = recording.outcomes[delivery.id]
    assert (first["delivered"], first["status_code"], first["error"]) == (False, None, "timed out")
    assert second["delivered"] is True
    assert ids(receiver) == [delivery.id] * 2
    Webhook(secret).verify(receiver.requests[1].body, receiver.requests[1].headers)


def test_deliveries_survive_a_restart(settings: Settings) -> None:
    with Receiver(503) as receiver:
        before = Trailkeeper.open(settings)
        try:
            tenant, secret = new_tenant(before)
            failed_once = enqueue(before, tenant, receiver.url)
            dispatcher, _ = dispatcher_for(before, settings, schedule=IMMEDIATE, batch_size=1)
            dispatcher.run_once()
            assert ids(receiver) == [failed_once.id]
            never_tried = enqueue(before, tenant, receiver.url)
        finally:
            before.close()

        after = Trailkeeper.open(settings)  # a new process: new store, new dispatcher
        try:
            dispatcher, recording = dispatcher_for(after, settings, schedule=IMMEDIATE)
            drain(dispatcher)
        finally:
            after.close()
    assert sorted(ids(receiver)[1:]) == sorted([failed_once.id, never_tried.id])
    assert recording.outcomes[failed_once.id][-1]["delivered"] is True
    assert recording.outcomes[never_tried.id][-1]["delivered"] is True
    for got in receiver.requests[1:]:
        Webhook(secret).verify(got.body, got.headers)


def test_a_claim_is_honoured_until_its_lease_runs_out(
    service: Trailkeeper, settings: Settings, receiver: Receiver
) -> None:
    tenant, _ = new_tenant(service)
    held = enqueue(service, tenant, receiver.url)
    taken = [d.id for d in service.store.claim_deliveries(3600, 1000)]
    assert held.id in taken  # another process holds it, for an hour
    dispatcher, _ = dispatcher_for(service, settings)
    drain(dispatcher)
    assert held.id not in ids(receiver)

    expired = enqueue(service, tenant, receiver.url)
    taken = [d.id for d in service.store.claim_deliveries(0, 1000)]
    assert expired.id in taken  # claimed by a process that died at once: lease over
    drain(dispatcher)
    assert ids(receiver) == [expired.id]


def test_gives_up_at_the_24_hour_horizon(service: Trailkeeper, settings: Settings) -> None:
    tenant, secret = new_tenant(service)
    created = datetime.now(UTC) - timedelta(hours=30)  # so every attempt is due in real time
    clock = Clock(created)
    with Receiver(default=500) as receiver:
        delivery = enqueue(service, tenant, receiver.url, created_at=created)
        dispatcher, recording = dispatcher_for(
            service, settings, schedule=RetrySchedule(jitter=0), clock=clock, batch_size=1
        )
        for _ in range(20):
            dispatcher.run_once()
            outcomes = recording.outcomes[delivery.id]
            if outcomes and outcomes[-1]["next_attempt_at"] is None:
                break
            clock.now = outcomes[-1]["next_attempt_at"]
        clock.now = created + timedelta(days=3)
        drain(dispatcher)  # given up: nothing more is sent
    mine = [r for r in receiver.requests if r.headers["webhook-id"] == delivery.id]
    offsets = [int(r.headers["webhook-timestamp"]) - int(created.timestamp()) for r in mine]
    assert offsets == [0, 5, 305, 2105, 9305, 27305, 63305, 86400]
    for got in mine:  # each attempt signed for its own time (too old for verify())
        sent_at = datetime.fromtimestamp(int(got.headers["webhook-timestamp"]), UTC)
        expected = Webhook(secret).sign(delivery.id, sent_at, got.body.decode())
        assert got.headers["webhook-signature"] == expected
    assert recording.outcomes[delivery.id][-1] == {
        "delivered": False, "next_attempt_at": None, "status_code": 500, "error": "HTTP 500"
    }  # fmt: skip


def test_two_dispatchers_never_send_the_same_attempt(
    service: Trailkeeper, settings: Settings, receiver: Receiver
) -> None:
    tenant, _ = new_tenant(service)
    queued = {enqueue(service, tenant, receiver.url).id for _ in range(30)}
    other = Trailkeeper.open(settings)  # a second process's store and pool
    try:
        dispatchers = [dispatcher_for(svc, settings, batch_size=4)[0] for svc in (service, other)]
        start = threading.Barrier(len(dispatchers))
        errors: list[BaseException] = []

        def work(dispatcher: WebhookDispatcher) -> None:
            try:
                start.wait(timeout=30)
                drain(dispatcher, limit=100)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(d,)) for d in dispatchers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        other.close()
    assert errors == []
    sent = Counter(i for i in ids(receiver) if i in queued)
    assert sent == Counter(dict.fromkeys(queued, 1))
