"""Streams delivered by real trailkeeper processes, on SQLite and PostgreSQL: a
``serve`` killed with SIGKILL in the middle of a stream and started again, and two
``worker`` processes competing for one stream (one of them killed on the way),
lose no event and keep seq order; with no failure, no event arrives twice. With
``serve``'s own timing, a new event reaches an idle stream's SIEM within 2 seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from siem import HEC_TOKEN, HttpReceiver, splunk_hec
from streaming import wait_until
from support import SESSION_SECRET_KEY, ServerProcess, make_event
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

pytestmark = pytest.mark.slow

LEASE = "3"  # seconds: a dead deliverer's stream is taken over this long after
READY = 180  # seconds a process may take to start on a busy machine
PATIENCE = 300  # seconds to wait for every event on a busy machine
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"  # Debian's libfaketime


@pytest.fixture
def settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {
        "TRAILKEEPER_STREAM_LEASE": LEASE,
        "TRAILKEEPER_OUTBOUND_TIMEOUT": "1",
        "TRAILKEEPER_SECRET_KEY": SESSION_SECRET_KEY,
        "TRAILKEEPER_ALLOW_PRIVATE_DESTINATIONS": "true",
    }.items():
        monkeypatch.setenv(name, value)
    return settings.model_copy(update={"allow_private_destinations": True})


@pytest.fixture
def hec() -> Iterator[HttpReceiver]:
    with splunk_hec() as receiver:
        yield receiver


class Tenant:
    def __init__(self, service: Trailkeeper, name: str) -> None:
        self.service = service
        self.tenant = service.tenancy.tenant(name)
        self.seqs: list[int] = []

    def ingest(self, first: int, count: int) -> None:
        receipts = self.service.ingest_events(
            self.tenant, [make_event(first + i) for i in range(count)]
        )
        self.seqs += [r.seq for r in receipts]


@pytest.fixture
def tenant(service: Trailkeeper) -> Iterator[Tenant]:
    name = f"streams-{os.getpid()}-{time.monotonic_ns()}"
    service.tenancy.create_tenant(name)
    made = Tenant(service, name)
    yield made
    for record in service.store.list_streams(made.tenant.id):
        service.store.delete_stream(made.tenant.id, record.id)


def stream_to(tenant: Tenant, url: str) -> str:
    actor = {"id": "test", "type": "system"}
    body = {
        "name": "hec", "type": "splunk_hec", "start": "now",
        "filters": {"action": "card.moved"}, "config": {"url": url, "token": HEC_TOKEN},
    }  # fmt: skip
    return str(tenant.service.streams.create(tenant.tenant, body, actor)["id"])


def received_seqs(hec: HttpReceiver, tenant: Tenant, timeout: float = PATIENCE) -> list[int]:
    hec.wait_for(len(tenant.seqs), timeout)
    deadline = time.monotonic() + timeout
    while set(tenant.seqs) - {e["event"]["seq"] for e in hec.events}:
        assert time.monotonic() < deadline, "events are missing"
        time.sleep(0.05)
    return [int(e["event"]["seq"]) for e in hec.events]


def assert_complete_in_order(received: list[int], expected: list[int]) -> None:
    assert list(dict.fromkeys(received)) == sorted(expected)


def worker(settings: Settings, log: Path, clock: str | None = None) -> subprocess.Popen[bytes]:
    """``trailkeeper worker``; with ``clock`` (e.g. ``+5m``) its wall clock is that far off,
    as on another host, by Debian's libfaketime (monotonic time is left alone: it is each
    host's own anyway)."""
    exe = Path(sys.executable).parent / "trailkeeper"
    args = [str(exe), "worker", "--data-dir", str(settings.data_dir)]
    env = dict(os.environ)
    if clock is not None:  # preloaded, not the faketime wrapper: the worker keeps its pid
        env.update(LD_PRELOAD=LIBFAKETIME, FAKETIME=clock, DONT_FAKE_MONOTONIC="1")
    if settings.database_url:
        args += ["--database-url", settings.database_url]
    with log.open("ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, then SIGKILL whatever is still running: a worker left behind would
    deliver, sign and claim for later tests sharing the PostgreSQL database."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def lease_owner_pid(tenant: Tenant, stream_id: str) -> int | None:
    record = tenant.service.store.get_stream(tenant.tenant.id, stream_id)
    if record is None or record.lease_owner is None:
        return None
    return int(record.lease_owner.split(":")[1])


def test_restart_of_serve_mid_stream_loses_nothing(
    settings: Settings, tenant: Tenant, hec: HttpReceiver
) -> None:
    stream_id = stream_to(tenant, hec.url)
    server = ServerProcess(settings.data_dir, settings.database_url, ready_timeout=READY)
    try:
        tenant.ingest(0, 1000)
        hec.wait_for(300, PATIENCE)
        server.kill()  # SIGKILL in the middle of the stream
        tenant.ingest(5000, 1000)  # arrive while nothing delivers
        server = ServerProcess(settings.data_dir, settings.database_url, ready_timeout=READY)
        tenant.ingest(9000, 500)
        received = received_seqs(hec, tenant)
    finally:
        server.stop()
    assert_complete_in_order(received, tenant.seqs)
    assert len(tenant.seqs) == 2500
    record = tenant.service.store.get_stream(tenant.tenant.id, stream_id)
    assert record is not None
    assert record.cursor_seq >= tenant.seqs[-1]


def test_two_workers_compete_for_a_stream(
    settings: Settings, tenant: Tenant, hec: HttpReceiver, tmp_path: Path
) -> None:
    stream_id = stream_to(tenant, hec.url)
    log = tmp_path / "workers.log"
    workers = [worker(settings, log), worker(settings, log)]
    try:
        for batch in range(10):
            tenant.ingest(batch * 100, 100)
        received = received_seqs(hec, tenant)
        assert_complete_in_order(received, tenant.seqs)
        repeated = [seq for seq, n in Counter(received).items() if n > 1]
        assert repeated == []  # one process delivered at a time: nothing sent twice
        owner = lease_owner_pid(tenant, stream_id)
        assert owner in {w.pid for w in workers}
        victim = next(w for w in workers if w.pid == owner)
        victim.kill()  # the deliverer dies; the other one takes over after the lease
        victim.wait(timeout=10)
        for batch in range(10, 20):
            tenant.ingest(batch * 100, 100)
        received = received_seqs(hec, tenant)
        survivor = next(w for w in workers if w is not victim)
        assert lease_owner_pid(tenant, stream_id) == survivor.pid
    finally:
        stop_all(workers)
    assert_complete_in_order(received, tenant.seqs)
    assert len(set(received)) == 2000


def test_an_idle_stream_delivers_a_new_event_within_two_seconds(
    settings: Settings, tenant: Tenant, hec: HttpReceiver
) -> None:
    stream_to(tenant, hec.url)
    server = ServerProcess(settings.data_dir, settings.database_url, ready_timeout=READY)
    lags = []
    try:
        tenant.ingest(0, 1)
        hec.wait_for(1, PATIENCE)  # the stream is claimed and delivering
        for round_, idle in enumerate((1.0, 1.7, 2.4, 3.1, 1.3, 2.0, 2.7), start=1):
            time.sleep(idle)  # nothing new for a while, which ends at varied moments
            tenant.ingest(round_, 1)
            stored = time.monotonic()  # committed: visible to every process
            hec.wait_for(round_ + 1, 30)
            lags.append(hec.requests[-1].at - stored)
    finally:
        server.stop()
    assert max(lags) <= 2.0, lags
    assert [e["event"]["seq"] for e in hec.events] == tenant.seqs


def test_a_worker_whose_clock_runs_ahead_leaves_a_live_lease_alone(
    settings: Settings, tenant: Tenant, hec: HttpReceiver, tmp_path: Path
) -> None:
    """Leases are timed by PostgreSQL's clock, not each host's: a worker on a host five
    minutes ahead must not see another's live lease as run out and take the stream."""
    if settings.database_url is None:
        pytest.skip("SQLite: every process is on one host, with one clock")
    assert Path(LIBFAKETIME).exists(), "libfaketime (scripts/_system_packages.sh installs it)"
    stream_id = stream_to(tenant, hec.url)
    log = tmp_path / "workers.log"
    workers = [worker(settings, log)]
    try:
        tenant.ingest(0, 100)
        received_seqs(hec, tenant)
        assert lease_owner_pid(tenant, stream_id) == workers[0].pid
        workers.append(worker(settings, log, clock="+5m"))
        wait_until(lambda: log.read_text().count("worker running") == 2, READY)
        owners = set()
        for batch in range(1, 6):
            tenant.ingest(batch * 100, 100)
            for _ in range(10):  # a second: the ahead worker's claim pass comes each second
                owners.add(lease_owner_pid(tenant, stream_id))
                time.sleep(0.1)
        received = received_seqs(hec, tenant, timeout=60)
        owners.add(lease_owner_pid(tenant, stream_id))
        assert owners == {workers[0].pid}, (owners, [w.pid for w in workers])
    finally:
        stop_all(workers)
    assert_complete_in_order(received, tenant.seqs)
    assert [seq for seq, n in Counter(received).items() if n > 1] == []
