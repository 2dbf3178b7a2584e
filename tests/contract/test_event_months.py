"""SQLite keeps events in a table per month of ``received_at`` behind the view ``events``:
tables made on demand by the writer, reads across months in seq order, ids unique across
months, and retention dropping a month whole only when every row in it is archived and
not held (otherwise batch deletes). PostgreSQL's partitions have their own tests."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from retention_support import age_events, assert_dictionaries_follow
from support import Api, make_event
from trailkeeper.errors import Conflict
from trailkeeper.events.batch import drafts_from_events
from trailkeeper.events.query import EventQuery
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.storage.retention import PolicyRecord
from trailkeeper.storage.rows import INSERT_COLUMNS
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.storage.sqlite.months import PK_GAP, month_table, segments
from trailkeeper.storage.tenants import Tenant


@pytest.fixture
def backend() -> str:
    """Every test here is of SQLite's month tables: the module runs on SQLite alone
    (PostgreSQL partitions ``events`` itself; its partitions have their own tests)."""
    return "sqlite"


@pytest.fixture
def sqlite_only(settings: Settings) -> None:
    assert settings.database_url is None


def _store(service: Trailkeeper) -> Any:
    return service.store


def _tables(service: Trailkeeper) -> list[str]:
    return segments(_store(service).conns.connection())


def _received_in(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """The store's clock (what batches are received at) stands at ``moment``."""

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Clock:
            return cls.fromtimestamp(moment.timestamp(), tz or UTC)

    for module in ("store", "groupappend"):
        monkeypatch.setattr(f"trailkeeper.storage.sqlite.{module}.datetime", Clock)


def _month(moment: datetime) -> str:
    return month_table(moment.year * 100 + moment.month)


def _append(service: Trailkeeper, tenant: Tenant, first: int, count: int) -> list[Any]:
    events = [make_event(i) for i in range(first, first + count)]
    return service.store.append(tenant.id, drafts_from_events(events))


def _tenant(service: Trailkeeper, name: str = "months") -> Tenant:
    service.tenancy.create_tenant(name)
    tenant = service.tenancy.tenant(name)
    assert tenant is not None
    return tenant


def _months_back(n: int) -> datetime:
    """A moment in the middle of the month ``n`` months before this one."""
    today = datetime.now(UTC).replace(day=15, hour=12, minute=0, second=0, microsecond=0)
    year, month = divmod(today.year * 12 + today.month - 1 - n, 12)
    return today.replace(year=year, month=month + 1)


@pytest.fixture
def three_months(
    sqlite_only: None, service: Trailkeeper, monkeypatch: pytest.MonkeyPatch
) -> Tenant:
    """A tenant made three months back (its creation is an event), with 30 events
    received then, 30 two months back and 30 now."""
    with monkeypatch.context() as patch:
        _received_in(patch, _months_back(3))
        tenant = _tenant(service)
        _append(service, tenant, 0, 30)
        _received_in(patch, _months_back(2))
        _append(service, tenant, 30, 30)
    _append(service, tenant, 60, 30)
    return tenant


def _days_between(older: datetime, newer: datetime) -> int:
    """A retention period whose cutoff falls between two moments a month apart."""
    now = datetime.now(UTC)
    return ((now - older).days + (now - newer).days) // 2


def test_a_month_table_is_made_when_a_batch_is_first_received_in_it(
    service: Trailkeeper, three_months: Tenant
) -> None:
    now = datetime.now(UTC)
    assert _tables(service) == [
        "events_p000000", _month(_months_back(3)), _month(_months_back(2)), _month(now)
    ]  # fmt: skip
    conn = _store(service).conns.connection()
    counts = [conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _tables(service)]
    assert counts == [0, 31, 30, 30]  # the tenant's creation is an event too
    pks = [r[0] for r in conn.execute("SELECT pk FROM events")]
    assert len(pks) == len(set(pks)) == 91  # pk stays unique across the tables
    assert min(pks) >= PK_GAP
    (ids,) = conn.execute("SELECT count(*) FROM event_ids").fetchone()
    assert ids == 91


def test_reads_cross_months_in_seq_order_with_cursors(
    api: Api, sqlite_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        _received_in(patch, _months_back(3))
        api.ingest(*(make_event(i) for i in range(30)))
        _received_in(patch, _months_back(2))
        api.ingest(*(make_event(i) for i in range(30, 60)))
    api.ingest(*(make_event(i) for i in range(60, 90)))
    for order in ("asc", "desc"):
        seqs = [e["seq"] for e in api.events(order=order, limit=7)]
        expected = list(range(1, 91))  # seq 0: the tenant's creation (self-audit)
        assert seqs == (expected if order == "asc" else expected[::-1])
    # filters and a date range answer across the months too
    actor = [e["seq"] for e in api.events(actor="u_1", limit=4)]
    assert actor == [s for s in range(90, 0, -1) if (s - 1) % 3 == 1]
    start = _months_back(3).isoformat().replace("+00:00", "Z")
    occurred = api.events(start="2020-01-01T00:00:00Z", limit=9, order="asc")
    assert [e["seq"] for e in occurred] == [e["seq"] for e in api.events(order="asc")]
    assert start
    event = api.get("/v1/events/evt-5").json()
    assert event["seq"] == 6


def test_ids_stay_unique_across_months(
    service: Trailkeeper, three_months: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same event again, a month later: the stored one's receipt, nothing new stored
    again = _append(service, three_months, 5, 1)
    assert again[0].seq == 6  # received three months back, now asked again
    changed = [{**make_event(5), "action": "card.deleted"}]
    with pytest.raises(Conflict):
        service.store.append(three_months.id, drafts_from_events(changed))
    conn = _store(service).conns.connection()
    assert conn.execute("SELECT count(*) FROM events WHERE id = 'evt-5'").fetchone() == (1,)
    # and a table another month (out of order) cannot take a stored id either
    with monkeypatch.context() as patch:
        _received_in(patch, _months_back(5))
        with pytest.raises(Conflict):
            service.store.append(three_months.id, drafts_from_events(changed))
    assert _month(_months_back(5)) not in _tables(service)


def _expire(service: Trailkeeper, tenant: Tenant, **policy: Any) -> Any:
    record = PolicyRecord(
        policy.get("days", 40), policy.get("archive", True), policy.get("legal_hold", False)
    )
    service.store.put_retention_policy(tenant.id, record)
    service.integrity.sync(tenant.id)
    report = service.retention.run(tenant)
    assert report is not None
    assert report.error is None, report
    return report


def test_a_fully_expired_month_is_dropped_whole_after_its_archive(
    service: Trailkeeper, three_months: Tenant
) -> None:
    old, middle = _month(_months_back(3)), _month(_months_back(2))
    report = _expire(service, three_months, days=_days_between(_months_back(3), _months_back(2)))
    assert report.removed_events == report.archived_events == 31
    assert len(report.archives) == 1
    assert old not in _tables(service)
    assert middle in _tables(service)
    assert service.retention.view(three_months)["removed"] == {
        "events": 31, "first_seq": 0, "last_seq": 30
    }  # fmt: skip
    assert_dictionaries_follow(service, three_months)
    conn = _store(service).conns.connection()
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE name LIKE ?",
                                        (f"%{old[8:]}%",))]  # fmt: skip
    assert names == []  # its indexes and trigger went with it
    # the removed events' ids stay known, as on PostgreSQL: a late retry is no new event
    again = _append(service, three_months, 3, 1)
    assert again[0].seq == 4
    assert conn.execute("SELECT count(*) FROM events WHERE id = 'evt-3'").fetchone() == (0,)


def test_a_month_another_tenant_still_needs_is_deleted_from_in_batches(
    service: Trailkeeper, three_months: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        _received_in(patch, _months_back(3))
        other = _tenant(service, "keeps")
        _append(service, other, 0, 5)
    old = _month(_months_back(3))
    days = _days_between(_months_back(3), _months_back(2))
    report = _expire(service, three_months, days=days)
    assert report.removed_events == 31
    assert old in _tables(service)  # "keeps" has no policy: its rows stay
    conn = _store(service).conns.connection()
    rows = conn.execute(f'SELECT tenant_id, count(*) FROM "{old}" GROUP BY 1').fetchall()
    assert rows == [(other.id, 6)]
    assert_dictionaries_follow(service, three_months)
    # once the other tenant's rows are archived too, the month goes whole
    report = _expire(service, other, days=days)
    assert old not in _tables(service)


def test_a_month_under_legal_hold_stays(service: Trailkeeper, three_months: Tenant) -> None:
    report = _expire(service, three_months, days=1, legal_hold=True)
    assert report.removed_events == 0
    assert _month(_months_back(3)) in _tables(service)
    assert service.store.drop_partitions() == 0  # archived or not, a hold keeps it


def test_a_month_is_not_dropped_before_its_archive_exists(
    service: Trailkeeper, three_months: Tenant
) -> None:
    assert service.store.drop_partitions() == 0  # nothing archived yet
    assert _month(_months_back(3)) in _tables(service)


def test_a_partly_expired_month_falls_back_to_batch_deletes(
    service: Trailkeeper, three_months: Tenant
) -> None:
    middle = _month(_months_back(2))
    conn = _store(service).conns.connection()
    # half of the middle month's table was received a day after the month before (as a
    # writer whose clock lagged would have put them): those expire with it, the rest not
    late = int((_months_back(3) + timedelta(days=1)).timestamp() * 1_000_000)
    conn.execute(f'UPDATE "{middle}" SET received_at = ? WHERE seq <= 45', (late,))
    days = _days_between(_months_back(3) + timedelta(days=1), _months_back(2))
    report = _expire(service, three_months, days=days)
    assert report.removed_events == 46
    assert _month(_months_back(3)) not in _tables(service)
    assert middle in _tables(service)
    rows = conn.execute(f'SELECT min(seq), count(*) FROM "{middle}"').fetchone()
    assert rows == (46, 15)
    assert_dictionaries_follow(service, three_months)


def test_ageing_moves_rows_to_their_month_and_retention_drops_it(
    api: Api, service: Trailkeeper, settings: Settings, sqlite_only: None
) -> None:
    api.ingest(*(make_event(i) for i in range(12)))
    tenant = service.tenancy.tenant(api.tenant)
    assert tenant is not None
    age_events(settings, tenant.id, 400)
    month = _month(datetime.now(UTC) - timedelta(days=400))
    assert month in _tables(service)
    service.integrity.sync(tenant.id)
    report = _expire(service, tenant, days=30)
    assert report.removed_events == 13
    assert month not in _tables(service)


def _migrated_to(path: Path, before: int) -> None:
    from trailkeeper.storage.migrations import load_migrations
    from trailkeeper.storage.sqlite.store import _statements

    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_at INTEGER NOT NULL)")  # fmt: skip
        for migration in load_migrations("trailkeeper.storage.sqlite"):
            if migration.version >= before:
                break
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)",
                         (migration.version, migration.name))  # fmt: skip


def test_a_database_of_the_single_table_keeps_working(
    service: Trailkeeper, sqlite_only: None, tmp_path: Path
) -> None:
    """A database made before month tables: its events table becomes events_p000000,
    read, looked up by id and kept unique as before, and retention deletes from it; new
    events go to the month's own table."""
    tenant = _tenant(service)
    _append(service, tenant, 0, 6)
    source = _store(service).conns.connection()
    columns = ", ".join(INSERT_COLUMNS)
    rows = source.execute(f"SELECT {columns} FROM events ORDER BY seq").fetchall()
    tenants = source.execute("SELECT * FROM tenants").fetchall()
    path = tmp_path / "old.db"
    _migrated_to(path, 10)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(f"INSERT INTO tenants VALUES ({', '.join('?' * len(tenants[0]))})",
                         tenants)  # fmt: skip
        marks = ", ".join("?" * len(INSERT_COLUMNS))
        conn.executemany(f"INSERT INTO events ({columns}) VALUES ({marks})", rows)
    store = SQLiteStore(path)
    try:
        assert store.migrate() >= 10
        conn = store.conns.connection()
        assert segments(conn) == ["events_p000000"]
        assert store.get_event(tenant.id, "evt-2")["seq"] == 3  # type: ignore[index]
        with pytest.raises(Conflict):
            store.append(tenant.id, drafts_from_events([{**make_event(2), "action": "x.y"}]))
        assert store.append(tenant.id, drafts_from_events([make_event(2)]))[0].seq == 3
        store.append(tenant.id, drafts_from_events([make_event(i) for i in range(6, 9)]))
        assert segments(conn) == ["events_p000000", _month(datetime.now(UTC))]
        views = store.page(tenant.id, EventQuery.from_params({"order": ["asc"]}), None, 50)
        assert [v["seq"] for v in views] == list(range(10))
        # retention deletes from the old table in batches
        assert store.claim_retention(tenant.id, "w", 60)
        assert store.mark_archived(tenant.id, "w", 4, 60)
        assert store.drop_partitions() == 0  # the old table is the first arm: it stays
        assert store.remove_events(tenant.id, "w", 100, 60) == 5
        assert conn.execute("SELECT min(seq) FROM events_p000000").fetchone() == (5,)
        # once all of it is archived, it is emptied at once and stays as the first arm
        assert store.mark_archived(tenant.id, "w", 6, 60)
        assert store.drop_partitions() == 2  # seqs 5 and 6
        assert conn.execute("SELECT count(*) FROM events_p000000").fetchone() == (0,)
        assert segments(conn) == ["events_p000000", _month(datetime.now(UTC))]
        assert store.retention_state(tenant.id).removed_through == 6
    finally:
        store.close()
