"""Retention runs: expired events are archived (JSONL + signed manifest, read back),
then deleted; legal hold stops it; a failed upload deletes nothing; and every proof of
the remaining and the archived events still verifies (checked independently)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from retention_support import age_events, assert_dictionaries_follow, read_archive
from rfc9162 import open_checkpoint, rfc_root, rfc_root_from_inclusion, rfc_verify_consistency
from support import Api, make_event
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.storage.tenants import Tenant
from trailkeeper.verify import verify_tenant

pytest_plugins = ["moto_s3"]

CLI = Path(sys.executable).with_name("trailkeeper")
LATER = timedelta(days=31)  # with days = 30, everything received today has expired


def _fill(api: Api, service: Trailkeeper, count: int, days: int = 30, **policy: Any) -> Tenant:
    api.ingest(*(make_event(i) for i in range(count)))
    response = api.client.put("/v1/retention", json={"days": days, **policy}, headers=api.auth)
    assert response.status_code == 200, response.text
    tenant = service.tenancy.tenant(api.tenant)
    service.integrity.sync(tenant.id)
    return tenant


def _proof_holds(api: Api, seq: int, leaf_hash: str, size: int, root: bytes) -> bool:
    response = api.get("/v1/proofs/inclusion", params={"seq": seq, "tree_size": size})
    assert response.status_code == 200, response.text
    path = [bytes.fromhex(h) for h in response.json()["hashes"]]
    return rfc_root_from_inclusion(seq, size, bytes.fromhex(leaf_hash), path) == root


@pytest.mark.parametrize("where", ["inline", "worker process"])
def test_run_archives_then_deletes_and_proofs_still_verify(
    api: Api, service: Trailkeeper, tmp_path: Path, where: str
) -> None:
    if where == "worker process":  # as a big day is written
        service.retention._archiver.process_rows = 1
    tenant = _fill(api, service, 40)
    stored = api.events(self_audit=True, order="asc")
    key = api.get("/v1/public-key").json()["verifier_key"]
    _, size, root = open_checkpoint(api.get("/v1/checkpoints/latest").json()["checkpoint"], key)
    report = service.retention.run(tenant, now=datetime.now(UTC) + LATER)
    assert report is not None
    assert report.error is None, report
    assert report.removed_events == len(stored) == report.archived_events == 42
    assert api.events(self_audit=True) == []
    assert_dictionaries_follow(service, tenant)
    archived = read_archive(service, report.archives[0])
    assert [e["seq"] for e in archived] == list(range(42))
    assert [e["leaf_hash"] for e in archived] == [e["leaf_hash"] for e in stored]
    assert rfc_root([bytes.fromhex(e["leaf_hash"]) for e in archived[:size]]) == root
    for event in archived[::7]:
        assert _proof_holds(api, event["seq"], event["leaf_hash"], size, root)
    view = api.get("/v1/retention").json()
    assert view["removed"] == {"events": 42, "first_seq": 0, "last_seq": 41}
    assert view["last_error"] is None
    assert view["last_run_at"] is not None
    # the log goes on: new events, a new checkpoint consistent with the old one
    new = api.ingest(*(make_event(100 + i) for i in range(5)))
    service.integrity.sync(tenant.id)
    _, size2, root2 = open_checkpoint(api.get("/v1/checkpoints/latest").json()["checkpoint"], key)
    proof = api.get("/v1/proofs/consistency", params={"first": size, "second": size2}).json()
    assert rfc_verify_consistency(size, size2, root, root2,
                                  [bytes.fromhex(h) for h in proof["hashes"]])  # fmt: skip
    assert _proof_holds(api, new[-1]["seq"], new[-1]["leaf_hash"], size2, root2)
    # and the archive verifies offline like any export
    file = tmp_path / "archive.jsonl.gz"
    file.write_bytes(b"".join(service.objects.read_chunks(report.archives[0])))
    (tmp_path / "archive.jsonl.gz.manifest.json").write_bytes(
        b"".join(service.objects.read_chunks(report.archives[0] + ".manifest.json"))
    )
    command = [str(CLI), "verify-export", str(file), "--public-key", key]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_nothing_expires_early(api: Api, service: Trailkeeper) -> None:
    tenant = _fill(api, service, 10)
    report = service.retention.run(tenant, now=datetime.now(UTC) + timedelta(days=30))
    assert report is not None
    assert (report.removed_events, report.archives) == (0, [])
    assert len(api.events()) == 10


def test_legal_hold_stops_all_deletion(api: Api, service: Trailkeeper) -> None:
    tenant = _fill(api, service, 10, legal_hold=True)
    report = service.retention.run(tenant, now=datetime.now(UTC) + LATER)
    assert report is not None
    assert "legal hold" in str(report.skipped)
    assert report.removed_events == 0
    assert len(api.events()) == 10
    api.client.put("/v1/retention", json={"legal_hold": False}, headers=api.auth)
    # the policy change is not in the tree yet (the worker integrates every few
    # seconds): only whole days the tree holds may leave, so nothing goes yet
    report = service.retention.run(tenant, now=datetime.now(UTC) + LATER)
    assert report is not None
    assert report.removed_events == 0
    service.integrity.sync(tenant.id)
    report = service.retention.run(tenant, now=datetime.now(UTC) + LATER)
    assert report is not None
    assert report.removed_events == 13  # the token, the 10, two policy changes
    assert api.events(self_audit=True) == []


def test_without_archive_events_are_deleted_and_no_file_is_written(
    api: Api, service: Trailkeeper
) -> None:
    tenant = _fill(api, service, 10, archive=False)
    report = service.retention.run(tenant, now=datetime.now(UTC) + LATER)
    assert report is not None
    assert (report.archives, report.removed_events) == ([], 12)
    assert api.events(self_audit=True) == []


def test_a_failed_upload_deletes_nothing_and_reports_last_error(
    api: Api, service: Trailkeeper, settings: Settings, aws_env: str
) -> None:
    tenant = _fill(api, service, 10)
    broken = settings.model_copy(update={"object_store": "s3://no-such-bucket-tk/archives"})
    other = Trailkeeper.open(broken)
    try:
        report = other.retention.run(tenant, now=datetime.now(UTC) + LATER)
    finally:
        other.close()
    assert report is not None
    assert report.error is not None
    assert report.removed_events == 0
    assert len(api.events()) == 10
    view = api.get("/v1/retention").json()
    assert "NoSuchBucket" in view["last_error"]
    assert view["removed"] is None
    assert view["archived_through_seq"] is None


def test_whole_expired_months_leave_by_partition(
    api: Api, service: Trailkeeper, settings: Settings
) -> None:
    tenant = _fill(api, service, 30)
    age_events(settings, tenant.id, 400)
    report = service.retention.run(tenant)
    assert report is not None
    assert report.error is None, report
    assert report.removed_events == 32
    assert api.events(self_audit=True) == []
    assert len(report.archives) == 1
    assert "/_retention/" in report.archives[0]
    assert_dictionaries_follow(service, tenant)
    if settings.database_url is not None:
        month = f"events_p{datetime.now(UTC) - timedelta(days=400):%Y%m}"
        with psycopg.connect(settings.database_url) as conn:
            found = conn.execute("SELECT to_regclass(%s)", (month,)).fetchone()
        assert found == (None,), f"{month} was not dropped"


def test_verify_reports_what_retention_removed_and_checks_the_rest(
    api: Api, service: Trailkeeper, settings: Settings
) -> None:
    tenant = _fill(api, service, 30)
    report = service.retention.run(tenant, now=datetime.now(UTC) + LATER)
    assert report is not None
    assert report.removed_events == 32
    api.ingest(*(make_event(100 + i) for i in range(5)))
    service.integrity.sync(tenant.id)
    verifier = service.integrity.signer.verifier()
    checked = verify_tenant(service.store, tenant, verifier)
    assert checked.ok, checked.problems
    assert (checked.removed, checked.events) == (32, 5)
    env = {**os.environ, **settings.to_environment()}
    command = [str(CLI), "verify", "--tenant", api.tenant]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "32 events archived/deleted by retention (seq 0–31), the rest intact" in " ".join(
        (result.stdout + result.stderr).split()
    )
    # a remaining event deleted behind retention's back is still caught
    _delete_row(settings, tenant.id, 34)
    broken = verify_tenant(service.store, tenant, verifier)
    assert not broken.ok
    assert broken.first_problem is not None
    assert broken.first_problem.seq == 34


def _delete_row(settings: Settings, tenant_id: int, seq: int) -> None:
    if settings.database_url is None:
        import sqlite3

        with sqlite3.connect(settings.sqlite_path) as conn:
            conn.execute("DELETE FROM events WHERE tenant_id = ? AND seq = ?", (tenant_id, seq))
    else:
        with psycopg.connect(settings.database_url) as conn:
            conn.execute("DELETE FROM events WHERE tenant_id = %s AND seq = %s", (tenant_id, seq))


def test_postgresql_archives_a_day_along_the_primary_key(
    api: Api, service: Trailkeeper, settings: Settings
) -> None:
    """A day is a small part of its month's partition: left to itself the planner scanned
    the whole partition, in parallel, and sorted it (on disk, for a real month) — for
    every day. The archive's read walks the primary key in seq order instead."""
    if settings.database_url is None:
        pytest.skip("a PostgreSQL plan")
    from trailkeeper.storage.postgres.rowscan import ARCHIVE_PLAN, archive_sql

    for start in range(0, 3_000, 1_000):
        api.ingest(*(make_event(i) for i in range(start, start + 1_000)))
    tenant = service.tenancy.tenant(api.tenant)
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("ANALYZE events")
        conn.execute(ARCHIVE_PLAN)
        plan = "\n".join(row[0] for row in conn.execute(
            b"EXPLAIN " + archive_sql(as_is=True), (tenant.id, 1_000, 1_999)))  # fmt: skip
    assert "Index Scan using" in plan, plan
    assert "_pkey" in plan, plan
    assert not [word for word in ("Sort", "Seq Scan", "Gather") if word in plan], plan
    rows = service.store.archive_rows(tenant.id, 1_000, 1_999, 300)
    assert [row[1] for batch in rows for row in batch] == list(range(1_000, 2_000))


def test_postgresql_counts_a_month_in_memory_on_one_core(
    api: Api, service: Trailkeeper, settings: Settings
) -> None:
    """Before a month's partition is dropped its rows are counted out of the dictionaries.
    For a real month (a million rows) the planner chose parallel workers, sorts on disk and
    JIT; the session below makes this small month look like one, and the count still runs
    as one hash aggregate in one process."""
    if settings.database_url is None:
        pytest.skip("a PostgreSQL plan")
    from trailkeeper.storage.postgres.partitions import COUNT_PLAN, month_count

    api.ingest(*(make_event(i) for i in range(500)))
    month = f"events_p{datetime.now(UTC):%Y%m}"
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("ANALYZE events")
        for setting in ("parallel_setup_cost = 0", "parallel_tuple_cost = 0", "jit_above_cost = 0",
                        "min_parallel_table_scan_size = 0", "work_mem = '64kB'"):  # fmt: skip
            conn.execute(f"SET {setting}")
        explain = b"EXPLAIN " + month_count(month).as_bytes(conn)
        left_alone = "\n".join(row[0] for row in conn.execute(explain))
        conn.execute(COUNT_PLAN)
        plan = "\n".join(row[0] for row in conn.execute(explain))
    assert "Gather" in left_alone, left_alone  # what the session makes of it unplanned
    assert "HashAggregate" in plan, plan
    assert not [word for word in ("Gather", "Sort", "JIT") if word in plan], plan
