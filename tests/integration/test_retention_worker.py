"""A real ``trailkeeper worker`` process archives to moto's S3 server; killed with
SIGKILL in the middle of a retention run or of an erasure, it loses nothing and never
deletes an event that is not in an archive, and the next worker finishes the job."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from retention_support import age_events
from support import make_event
from trailkeeper.service import Trailkeeper
from trailkeeper.service.audit import CLI_ACTOR
from trailkeeper.settings import Settings
from trailkeeper.storage.tenants import Tenant

pytest_plugins = ["moto_s3"]

WORKER = Path(sys.executable).with_name("trailkeeper")
EVENTS = 3_000
DAYS = 40  # archive files: one per day


class Worker:
    def __init__(self, settings: Settings, bucket: str, *extra: str) -> None:
        env = {**os.environ, **settings.to_environment()}
        env["TRAILKEEPER_OBJECT_STORE"] = f"s3://{bucket}/archives"
        self.database_url = settings.database_url or ""
        # libpq names the worker's PostgreSQL sessions, so kill() can wait for them
        self.application = env["PGAPPNAME"] = f"tk-worker-{os.urandom(4).hex()}"
        self.process = subprocess.Popen(
            [str(WORKER), "worker", *extra], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no cleanup of any kind
        self.process.wait(timeout=10)
        assert self.process.stderr is not None
        self.process.stderr.close()
        if self.database_url.startswith("postgresql"):
            self._wait_for_its_sessions()

    def _wait_for_its_sessions(self) -> None:
        """A COMMIT the worker sent just before it died still completes on the server:
        the state is read once every session of the dead worker has ended."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            for _ in range(500):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    (self.application,),
                ).fetchone()
                if row is not None and row[0] == 0:
                    return
                time.sleep(0.02)
        pytest.fail(f"the killed worker's PostgreSQL sessions ({self.application}) never ended")


def _wait(condition: Callable[[], bool], what: str, worker: Worker, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if worker.process.poll() is not None:
            assert worker.process.stderr is not None
            pytest.fail(f"worker exited: {worker.process.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            worker.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _tenant_with_events(service: Trailkeeper, actors: int = 3) -> Tenant:
    name = f"t-{os.urandom(5).hex()}"
    service.tenancy.create_tenant(name)
    tenant = service.tenancy.tenant(name)
    for start in range(0, EVENTS, 1000):
        events = [make_event(i, actor={"id": f"u_{i % actors}", "name": f"User {i % actors}",
                                       "email": f"u{i % actors}@example.com"})
                  for i in range(start, start + 1000)]  # fmt: skip
        service.ingest_events(tenant, events)
    service.integrity.sync(tenant.id)
    return tenant


def _archived_seqs(s3_client: Any, bucket: str) -> list[int]:
    seqs: list[int] = []
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix="archives/").get("Contents", [])
    for item in listed:
        if item["Key"].endswith(".jsonl.gz"):
            body = s3_client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            seqs += [orjson.loads(line)["seq"] for line in gzip.decompress(body).splitlines()]
    return sorted(seqs)


def _stored_seqs(service: Trailkeeper, tenant: Tenant) -> list[int]:
    return [row[0]["seq"] for row in service.store.scan(tenant.id)]


@pytest.fixture
def expire_lease(settings: Settings) -> Callable[[str], None]:
    """What a dead worker's lease does after a while, without the wait."""

    def expire(table: str) -> None:
        past = datetime.now(UTC) - timedelta(hours=1)
        if settings.database_url is None:
            import sqlite3

            with sqlite3.connect(settings.sqlite_path) as conn:
                conn.execute(f"UPDATE {table} SET lease_until = ?",
                             (int(past.timestamp() * 1e6),))  # fmt: skip
        else:
            import psycopg

            with psycopg.connect(settings.database_url, autocommit=True) as conn:
                conn.execute(f"UPDATE {table} SET lease_until = %s", (past,))

    return expire


def test_retention_run_killed_midway_loses_nothing(
    service: Trailkeeper, settings: Settings, s3_bucket: str, s3_client: Any,
    expire_lease: Callable[[str], None],
) -> None:  # fmt: skip
    tenant = _tenant_with_events(service)
    service.retention.update(tenant, {"days": 30}, dict(CLI_ACTOR), source="cli")
    service.integrity.sync(tenant.id)
    expired = _stored_seqs(service, tenant)
    age_events(settings, tenant.id, 60, spread=DAYS)
    # killed while archiving: nothing is deleted yet
    worker = Worker(settings, s3_bucket, "--retention-batch", "20")
    _wait(lambda: service.store.retention_state(tenant.id).archived_through >= 0,
          "the first day's archive", worker)  # fmt: skip
    worker.kill()
    state = service.store.retention_state(tenant.id)
    assert state.removed_through == -1
    assert state.archived_through < expired[-1]
    assert _stored_seqs(service, tenant) == expired
    assert set(range(state.archived_through + 1)) <= set(_archived_seqs(s3_client, s3_bucket))
    # killed while deleting: what is gone is a prefix, and all of it is archived
    expire_lease("retention_state")
    worker = Worker(settings, s3_bucket, "--retention-batch", "20")
    _wait(lambda: service.store.retention_state(tenant.id).removed_through > 300,
          "the run to be deleting", worker)  # fmt: skip
    worker.kill()
    state = service.store.retention_state(tenant.id)
    assert state.removed_through <= state.archived_through
    archived, stored = _archived_seqs(s3_client, s3_bucket), _stored_seqs(service, tenant)
    assert stored == expired[state.removed_through + 1 :]  # deleted: a prefix, no more
    assert set(range(state.removed_through + 1)) <= set(archived)  # every deleted one archived
    expire_lease("retention_state")
    worker = Worker(settings, s3_bucket)
    _wait(lambda: service.store.retention_state(tenant.id).last_run_at is not None,
          "the resumed run to finish", worker)  # fmt: skip
    worker.kill()
    state = service.store.retention_state(tenant.id)
    assert state.last_error is None
    assert _stored_seqs(service, tenant) == []
    assert (
        _archived_seqs(s3_client, s3_bucket) == expired
    )  # each once: a day's file rewritten whole


def test_erasure_killed_midway_resumes_and_erases_everything(
    service: Trailkeeper, settings: Settings, s3_bucket: str,
    expire_lease: Callable[[str], None],
) -> None:  # fmt: skip
    tenant = _tenant_with_events(service, actors=1)
    job = service.erasures.request(tenant, {"actor_id": "u_0"}, "tok_test", "test")
    worker = Worker(settings, s3_bucket, "--erasure-batch", "10")
    _wait(lambda: service.erasures.get(tenant, job["id"])["events_erased"] > 0,
          "the erasure to start", worker)  # fmt: skip
    worker.kill()
    partial = service.erasures.get(tenant, job["id"])
    assert partial["status"] == "running"
    assert 0 < partial["events_erased"] < EVENTS
    views = [view for view, _ in service.store.scan(tenant.id)]
    erased = [v["seq"] for v in views if v["actor"]["name"] is None]
    assert erased == list(range(1, partial["events_erased"] + 1))  # seq 0: the admin token
    expire_lease("erasures")
    worker = Worker(settings, s3_bucket)
    _wait(lambda: service.erasures.get(tenant, job["id"])["status"] == "succeeded",
          "the resumed erasure", worker)  # fmt: skip
    worker.kill()
    done = service.erasures.get(tenant, job["id"])
    assert done["events_erased"] == EVENTS
    rows = list(service.store.scan(tenant.id))
    assert all(v["ip"] is None and salt is None for v, salt in rows if v["actor"]["id"] == "u_0")
    assert sum(v["action"] == "trailkeeper.erasure.performed" for v, _ in rows) == 1
