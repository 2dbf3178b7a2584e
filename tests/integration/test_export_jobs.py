"""Export jobs on both databases: claims under leases, dead workers, failures,
and the webhook queued with the job's outcome."""

from __future__ import annotations

import threading
import time
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from standardwebhooks import Webhook

from receiver import Receiver
from support import make_event
from trailkeeper.auth.tokens import Principal
from trailkeeper.service import Trailkeeper
from trailkeeper.service.export_jobs import MAX_ATTEMPTS, ExportRunner
from trailkeeper.settings import Settings
from trailkeeper.webhooks.dispatcher import WebhookDispatcher
from trailkeeper.webhooks.schedule import RetrySchedule


def _principal(service: Trailkeeper) -> Principal:
    name = f"jobs-{time.monotonic_ns()}"
    token = service.tenancy.create_tenant(name)["admin_token"]
    return service.tenancy.authenticate(f"Bearer {token}")


def _ingest_recent(service: Trailkeeper, principal: Principal, count: int) -> None:
    base = datetime.now(UTC) - timedelta(days=2)
    events = []
    for i in range(count):
        event = make_event(i, occurred_at=(base + timedelta(seconds=i)).isoformat())
        events.append(event)
    service.ingest_events(principal.tenant, events)


def _request(service: Trailkeeper, principal: Principal, **body: Any) -> str:
    view = service.exports.request(principal, {"format": "jsonl", **body}, "http://127.0.0.1")
    return str(view["id"])


def _runner(service: Trailkeeper, lease: float = 60.0) -> ExportRunner:
    runner = ExportRunner(
        service.store,
        service.integrity,
        service.integrity.signer,
        service.objects,
        service.settings,
        lease_seconds=lease,
    )
    runner.serving_at = "http://127.0.0.1:8000"  # as in `serve`: webhook links are known
    return runner


def test_each_job_runs_once_with_two_workers(service: Trailkeeper) -> None:
    principal = _principal(service)
    _ingest_recent(service, principal, 50)
    ids = [_request(service, principal, resource={"type": "pipe", "id": f"p{i}"}) for i in range(6)]
    runners = [_runner(service), _runner(service)]
    ran: dict[str, list[str]] = {r.worker_id: [] for r in runners}
    original = service.store.claim_export

    def work(runner: ExportRunner) -> None:
        while True:
            job = original(runner.worker_id, runner.lease_seconds)
            if job is None:
                return
            ran[runner.worker_id].append(job.id)
            final = replace(job, status="succeeded", completed_at=datetime.now(UTC))
            assert service.store.finish_export(final, runner.worker_id, None)

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    claimed = ran[runners[0].worker_id] + ran[runners[1].worker_id]
    assert len(set(claimed)) == len(claimed)  # none twice
    # on the shared PostgreSQL database, jobs earlier tests left queued are claimed too
    assert sorted(c for c in claimed if c in ids) == sorted(ids)  # every job once


def test_a_sqlite_export_gives_its_thread_connection_its_page_cache_back(
    service: Trailkeeper,
) -> None:
    """The export reads with a small page cache on the thread's own connection, which the
    export loop goes on using (claims, integration): the usual cache must come back."""
    if service.store.backend != "sqlite":
        pytest.skip("SQLite's per-thread connections only")
    principal = _principal(service)
    _ingest_recent(service, principal, 30)
    store: Any = service.store
    usual = store.conns.connection().execute("PRAGMA cache_size").fetchone()[0]
    export_id = _request(service, principal)
    assert _runner(service).run_once()  # reads the rows on this thread
    record = service.store.get_export(principal.tenant.id, export_id)
    assert record is not None
    assert record.status == "succeeded", record.error
    assert record.event_count == 30
    assert store.conns.connection().execute("PRAGMA cache_size").fetchone()[0] == usual


def test_a_dead_workers_job_is_taken_over(service: Trailkeeper) -> None:
    principal = _principal(service)
    _ingest_recent(service, principal, 20)
    export_id = _request(service, principal)
    dead = _runner(service, lease=0.2)
    claimed = service.store.claim_export(dead.worker_id, 0.2)  # ... and then it dies
    assert claimed is not None
    assert claimed.id == export_id
    assert service.store.claim_export("someone-else", 60) is None  # still leased
    time.sleep(0.4)
    survivor = _runner(service)
    assert survivor.run_once()
    record = service.store.get_export(principal.tenant.id, export_id)
    assert record is not None
    assert record.status == "succeeded", record.error
    assert record.attempts == 2
    assert record.event_count == 20
    # The dead worker's late result is refused: the job is no longer its own.
    late = replace(claimed, status="failed", error="late", completed_at=datetime.now(UTC))
    assert not service.store.finish_export(late, dead.worker_id, None)
    still = service.store.get_export(principal.tenant.id, export_id)
    assert still is not None
    assert still.status == "succeeded"


def test_a_job_that_keeps_killing_its_worker_fails_with_a_reason(service: Trailkeeper) -> None:
    principal = _principal(service)
    export_id = _request(service, principal)
    for attempt in range(MAX_ATTEMPTS):
        job = service.store.claim_export(f"crashing-{attempt}", 0.05)
        assert job is not None
        time.sleep(0.1)
    assert _runner(service).run_once()
    record = service.store.get_export(principal.tenant.id, export_id)
    assert record is not None
    assert record.status == "failed"
    assert record.error is not None
    assert "attempts" in record.error


def test_a_failing_job_says_why_and_the_worker_goes_on(
    service: Trailkeeper, settings: Settings
) -> None:
    principal = _principal(service)
    _ingest_recent(service, principal, 5)
    broken = _request(service, principal, resource={"type": "pipe", "id": "p-broken"})
    fine = _request(service, principal, resource={"type": "pipe", "id": "p1"})
    # The scratch directory cannot be made: a real I/O failure in the job.
    (settings.data_dir / "tmp").unlink(missing_ok=True)
    if (settings.data_dir / "tmp").is_dir():
        (settings.data_dir / "tmp").rmdir()
    (settings.data_dir / "tmp").write_text("not a directory")
    runner = _runner(service)
    assert runner.run_once()
    failed = service.store.get_export(principal.tenant.id, broken)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.error is not None
    assert "Writing the export failed" in failed.error
    (settings.data_dir / "tmp").unlink()
    assert runner.run_once()
    done = service.store.get_export(principal.tenant.id, fine)
    assert done is not None
    assert done.status == "succeeded", done.error


def test_outcome_and_webhook_are_stored_together(settings: Settings) -> None:
    allowing = settings.model_copy(update={"allow_private_destinations": True})
    with closing(Trailkeeper.open(allowing)) as service:
        principal = _principal(service)
        _ingest_recent(service, principal, 3)
        export_id = _request(service, principal, webhook_url="http://127.0.0.1:9/hook")
        assert _runner(service).run_once()
        deliveries = service.store.claim_deliveries(60, 10)
        mine = [d for d in deliveries if d.id == f"msg_{export_id}"]
        assert len(mine) == 1
        payload = orjson.loads(mine[0].payload)
        assert payload["type"] == "export.succeeded"
        assert payload["data"]["id"] == export_id
        assert payload["data"]["event_count"] == 3
        assert service.key.open(mine[0].url_sealed) == "http://127.0.0.1:9/hook"
        # Leased: a second claim does not hand it out again.
        assert all(d.id != mine[0].id for d in service.store.claim_deliveries(60, 10))


def test_export_webhook_reaches_a_real_receiver_signed(settings: Settings) -> None:
    """The whole path: request with a webhook, the worker writes the file, the
    dispatcher POSTs a Standard Webhooks message the receiver verifies."""
    allowing = settings.model_copy(update={"allow_private_destinations": True})
    with closing(Trailkeeper.open(allowing)) as service, Receiver(500, 200) as receiver:
        name = f"hooks-{time.monotonic_ns()}"
        created = service.tenancy.create_tenant(name)
        principal = service.tenancy.authenticate(f"Bearer {created['admin_token']}")
        _ingest_recent(service, principal, 4)
        export_id = _request(service, principal, webhook_url=receiver.url)
        assert _runner(service).run_once()
        dispatcher = WebhookDispatcher(
            service.store, service.key, allowing, schedule=RetrySchedule(delays=(0.0, 0.0))
        )
        deadline = time.monotonic() + 30
        while len(receiver.requests) < 2 and time.monotonic() < deadline:
            dispatcher.run_once()
            time.sleep(0.05)
        first, second = receiver.requests[:2]
        assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{export_id}"
        verified = Webhook(created["webhook_secret"]).verify(second.body, second.headers)
        assert verified["type"] == "export.succeeded"
        assert verified["data"]["id"] == export_id
        assert verified["data"]["status"] == "succeeded"
        assert verified["data"]["download_url"]


def test_a_worker_that_cannot_know_the_links_leaves_webhook_exports_queued(
    settings: Settings,
) -> None:
    """A standalone ``worker`` without a public URL would put another host's address in
    the webhook's download links: it runs the exports without a webhook and leaves the
    others queued for a process that knows the links."""
    allowing = settings.model_copy(update={"allow_private_destinations": True})
    public = "https://audit.example.test/base"
    with closing(Trailkeeper.open(allowing)) as service:
        principal = _principal(service)
        _ingest_recent(service, principal, 2)
        hooked = _request(service, principal, webhook_url="http://127.0.0.1:9/hook")
        plain = _request(service, principal, resource={"type": "pipe", "id": "p1"})
        blind = ExportRunner(
            service.store, service.integrity, service.integrity.signer, service.objects, allowing
        )
        assert not blind.links_known
        blind.run_all()
        held = service.store.get_export(principal.tenant.id, hooked)
        done = service.store.get_export(principal.tenant.id, plain)
        assert held is not None
        assert done is not None
        assert held.status == "queued"
        assert done.status == "succeeded", done.error
        told = allowing.model_copy(update={"public_url": public})
        knowing = ExportRunner(
            service.store, service.integrity, service.integrity.signer, service.objects, told
        )
        assert knowing.links_known
        knowing.run_all()
        finished = service.store.get_export(principal.tenant.id, hooked)
        assert finished is not None
        assert finished.status == "succeeded", finished
        deliveries = service.store.claim_deliveries(60, 100)
        [mine] = [d for d in deliveries if d.id == f"msg_{hooked}"]
        data = orjson.loads(mine.payload)["data"]
        assert data["download_url"].startswith(f"{public}/")
        assert data["manifest_url"].startswith(f"{public}/")
