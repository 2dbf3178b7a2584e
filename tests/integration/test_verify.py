"""``trailkeeper verify`` against a real database file and a real PostgreSQL table, tampered
with raw SQL the way someone with database access would (CONTRACT sections 2 and 8): change a
field, change personal data, delete a row, insert a row, swap two rows, delete the newest rows,
rewrite a row together with its hashes. Each must be caught, naming the right ``seq``."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from support import SESSION_SECRET_KEY, make_event
from trailkeeper.events.leaves import ROW_COLUMNS
from trailkeeper.integrity import generate_signer_key, parse_signer_key, parse_verifier_key
from trailkeeper.integrity.tiles import TILE_HEIGHT, TILE_WIDTH
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.storage.rows import INSERT_COLUMNS
from trailkeeper.storage.tenants import Tenant
from trailkeeper.verify import VerificationReport, chunks, recompute_leaf, runner, verify_tenant
from trailkeeper.workerpool import worker_pool

EXE = Path(sys.executable).parent / "trailkeeper"
SIGNED = 300
"""Events covered by the tenant's checkpoint; 10 more arrive after it."""
TOTAL = 310


class Database:
    """Raw SQL on the deployment's own database, behind the application's back."""

    def __init__(self, settings: Settings) -> None:
        self.postgres = settings.database_url is not None
        self.conn: Any = (
            psycopg.connect(settings.database_url, autocommit=True)
            if settings.database_url
            else sqlite3.connect(settings.sqlite_path, isolation_level=None)
        )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(self._dialect(sql), params).fetchall())

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(self._dialect(sql), params)

    def _dialect(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def close(self) -> None:
        self.conn.close()


@dataclass
class Log:
    service: Trailkeeper
    tenant: Tenant
    db: Database

    def verify(self, **kwargs: Any) -> VerificationReport:
        verifier = parse_verifier_key(self.service.integrity.verifier_key)
        return verify_tenant(self.service.store, self.tenant, verifier, **kwargs)

    def row(self, seq: int) -> dict[str, Any]:
        found = self.db.query(
            f"SELECT {', '.join(INSERT_COLUMNS)} FROM events WHERE tenant_id = ? AND seq = ?",
            (self.tenant.id, seq),
        )
        assert len(found) == 1, found
        return dict(zip(INSERT_COLUMNS, found[0], strict=True))

    def update(self, at: int, **columns: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in columns)
        self.db.run(
            f"UPDATE events SET {sets} WHERE tenant_id = ? AND seq = ?",
            (*columns.values(), self.tenant.id, at),
        )

    def swap(self, a: int, b: int) -> None:
        """Exchange everything but ``seq`` between two rows (ids are unique, so one
        steps aside first)."""
        first, second = self.row(a), self.row(b)
        for row in (first, second):
            del row["tenant_id"], row["seq"]
        self.update(b, id="stepping-aside")
        self.update(a, **second)
        self.update(b, **first)

    def event(self, seq: int) -> dict[str, Any]:
        view = self.service.store.get_event(self.tenant.id, self.row(seq)["id"])
        assert view is not None
        return view


def new_log(service: Trailkeeper, settings: Settings) -> Log:
    name = f"v-{uuid.uuid4().hex[:10]}"
    service.tenancy.create_tenant(name)  # seq 0: the admin token's self-audit event
    tenant = service.tenancy.tenant(name)
    service.ingest_events(tenant, [make_event(i) for i in range(SIGNED - 1)])
    checkpoint = service.integrity.sync(tenant.id)
    assert checkpoint is not None
    assert checkpoint.size == SIGNED
    service.ingest_events(tenant, [make_event(i) for i in range(SIGNED - 1, TOTAL - 1)])
    return Log(service, tenant, Database(settings))


@pytest.fixture
def log(service: Trailkeeper, settings: Settings) -> Iterator[Log]:
    made = new_log(service, settings)
    try:
        yield made
    finally:
        made.db.close()


def only(report: VerificationReport) -> tuple[int | None, str, str]:
    """The report's first problem, after checking that it is not ok."""
    assert not report.ok, report
    first = report.first_problem
    assert first is not None
    return first.seq, first.kind, first.message


def test_an_untouched_log_verifies(log: Log) -> None:
    report = log.verify()
    assert report.ok, report.problems
    assert report.events == TOTAL
    assert report.log_size == TOTAL
    assert report.checkpoints == 1
    assert report.checkpoints_verified == 1
    assert report.latest_checkpoint == SIGNED
    assert report.as_dict()["first_bad_seq"] is None


def test_a_changed_field_is_caught(log: Log) -> None:
    log.update(57, action="card.deleted")
    seq, kind, message = only(log.verify())
    assert (seq, kind) == (57, "altered")
    assert "no longer hash to its leaf_hash" in message


def test_changed_metadata_is_caught(log: Log) -> None:
    log.update(58, metadata=orjson.dumps({"card_id": "9999"}).decode())
    assert only(log.verify())[:2] == (58, "altered")


def test_changed_personal_data_is_caught(log: Log) -> None:
    log.update(80, actor_name="Someone Else")
    seq, kind, message = only(log.verify())
    assert (seq, kind) == (80, "altered")
    assert "personal data" in message


def test_a_deleted_row_is_caught(log: Log) -> None:
    log.db.run("DELETE FROM events WHERE tenant_id = ? AND seq = 120", (log.tenant.id,))
    report = log.verify()
    assert only(report)[:2] == (120, "missing")
    assert report.problem_count == 1
    assert report.checkpoints_verified == 1  # everything else still matches the checkpoint


def test_an_inserted_row_is_caught(log: Log) -> None:
    """A second row claiming seq 130 (PostgreSQL's key includes received_at; on SQLite the
    attacker drops the unique index of the month's table first)."""
    if not log.db.postgres:
        _drop_seq_index(log, 130)
    forged = log.row(130)
    forged.update(id="forged-130", action="user.deleted")
    forged["received_at"] += 1 if isinstance(forged["received_at"], int) else timedelta(0, 1)
    marks = ", ".join("?" * len(forged))
    log.db.run(f"INSERT INTO events ({', '.join(forged)}) VALUES ({marks})", list(forged.values()))
    report = log.verify()
    seq, kind, message = only(report)
    assert (seq, kind) == (130, "inserted")
    assert "forged-130" in message
    assert report.problem_count == 1
    assert report.events == TOTAL + 1


def test_swapped_rows_are_caught(log: Log) -> None:
    log.swap(200, 201)
    report = log.verify()
    seq, kind, message = only(report)
    assert (seq, kind) == (200, "reordered")
    assert "holds the event of seq 201" in message
    assert [(p.seq, p.kind) for p in report.problems] == [(200, "reordered"), (201, "reordered")]


def test_deleting_the_newest_rows_is_caught(log: Log) -> None:
    log.db.run("DELETE FROM events WHERE tenant_id = ? AND seq >= 250", (log.tenant.id,))
    report = log.verify()
    seq, kind, message = only(report)
    assert (seq, kind) == (250, "truncated")
    assert "checkpoint of size 300" in message
    assert report.problem_count == 1


def test_a_row_rewritten_with_its_leaf_hash_is_caught(log: Log) -> None:
    view = log.event(90)
    view["action"] = "card.deleted"
    log.update(90, action="card.deleted", leaf_hash=recompute_leaf(view))
    seq, kind, message = only(log.verify())
    assert (seq, kind) == (90, "altered")
    assert "leaf_hash rewritten" in message
    assert "checkpoint of size 300 confirms" in message


def test_a_row_rewritten_with_its_tree_leaf_is_still_caught(log: Log) -> None:
    """Row, leaf_hash and the tree's stored leaf: the node above it and the signed
    checkpoint still disagree, and the report names the seqs around it."""
    view = log.event(90)
    view["action"] = "card.deleted"
    forged = recompute_leaf(view)
    log.update(90, action="card.deleted", leaf_hash=forged)
    tile = 90 >> TILE_HEIGHT
    [(blob,)] = log.db.query(
        "SELECT hashes FROM tree_tiles WHERE tenant_id = ? AND level = 0 AND idx = ?",
        (log.tenant.id, tile),
    )
    at = (90 & (TILE_WIDTH - 1)) * 32
    blob = bytes(blob[:at]) + forged + bytes(blob[at + 32 :])
    log.db.run(
        "UPDATE tree_tiles SET hashes = ? WHERE tenant_id = ? AND level = 0 AND idx = ?",
        (blob, log.tenant.id, tile),
    )
    report = log.verify()
    first = report.first_problem
    assert first is not None
    assert first.kind == "altered"
    assert first.seq is not None
    assert first.last_seq is not None
    assert first.seq <= 90 <= first.last_seq < first.seq + TILE_WIDTH
    assert report.problem_count == 1


def test_a_damaged_tree_tile_is_caught_without_blaming_the_events(log: Log) -> None:
    log.db.run(
        "UPDATE tree_tiles SET hashes = ? WHERE tenant_id = ? AND level = 0 AND idx = 3",
        (b"\x07" * 32 * TILE_WIDTH, log.tenant.id),
    )
    report = log.verify()
    assert only(report)[:2] == (3 * TILE_WIDTH, "tree")
    assert {p.kind for p in report.problems} == {"tree"}
    assert report.checkpoints_verified == 1


def test_an_unreadable_row_is_named(log: Log) -> None:
    log.update(42, metadata="{not json")
    seq, kind, _ = only(log.verify())
    assert (seq, kind) == (42, "unreadable")


@pytest.mark.parametrize(
    ("first", "end", "limit"), [(0, 64, 65), (96, 128, 33), (300, None, 100), (None, None, None)]
)
def test_native_rows_are_the_rows_counted_from_their_epoch(
    log: Log, first: int | None, end: int | None, limit: int | None
) -> None:
    """What the chunk check reads (timestamps in the store's own form) is what the
    row-by-row check reads, with the timestamps moved by the epoch the reader names."""
    timestamps = [ROW_COLUMNS.index("occurred_at"), ROW_COLUMNS.index("received_at")]
    reader = log.service.store.row_source().open()  # type: ignore[attr-defined]
    try:
        expected = list(reader.rows(log.tenant.id, first, end, limit))
        epoch, rows = reader.native_rows(log.tenant.id, first, end, limit)
        shifted = [
            tuple(v + epoch if i in timestamps else v for i, v in enumerate(row)) for row in rows
        ]
    finally:
        reader.close()
    assert expected
    assert shifted == expected
    assert epoch % (86_400 * 10**6) == 0


def test_checkpoints_signed_by_another_key_fail(log: Log) -> None:
    other = parse_signer_key(generate_signer_key("elsewhere")).verifier()
    report = verify_tenant(log.service.store, log.tenant, other)
    assert not report.ok
    assert [p.kind for p in report.problems] == ["checkpoint"]
    assert report.checkpoints_verified == 0


# the console script ------------------------------------------------------------------


@dataclass
class Done:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """Both streams, with Rich's line wrapping undone."""
        return " ".join((self.out + " " + self.err).split())


def run_cli(settings: Settings, *commands: list[str]) -> list[Done]:
    """The real console script, each command in its own process, all at once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILKEEPER_")}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb", TRAILKEEPER_SECRET_KEY=SESSION_SECRET_KEY)
    where = ["--data-dir", str(settings.data_dir)]
    if settings.database_url:
        where += ["--database-url", settings.database_url]
    started = [
        subprocess.Popen(
            [str(EXE), "verify", *command, *where],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for command in commands
    ]
    done = []
    for process in started:
        out, err = process.communicate(timeout=120)
        done.append(Done(process.returncode, out.decode(), err.decode()))
        assert "Traceback" not in done[-1].err, done[-1]
    return done


def test_the_cli_exits_0_when_intact_and_1_naming_the_seq_when_not(
    log: Log, service: Trailkeeper, settings: Settings
) -> None:
    tampered = new_log(service, settings)
    try:
        tampered.update(57, action="card.deleted")
    finally:
        tampered.db.close()
    clean, bad, as_json, other_key, unknown, bad_key = run_cli(
        settings,
        ["--tenant", log.tenant.name],
        ["--tenant", tampered.tenant.name],
        ["--tenant", tampered.tenant.name, "--json"],
        ["--tenant", log.tenant.name, "--public-key",
         parse_signer_key(generate_signer_key("auditor")).verifier().key_string],
        ["--tenant", "no-such-tenant"],
        ["--tenant", log.tenant.name, "--public-key", "not-a-key"],
    )  # fmt: skip
    assert clean.code == 0, clean
    assert f"OK tenant {log.tenant.name}: intact" in clean.text
    assert "310 events, 1 of 1 checkpoints verified" in clean.text

    assert bad.code == 1, bad
    assert f"FAILED tenant {tampered.tenant.name}: first bad seq 57: altered" in bad.text

    assert as_json.code == 1, as_json
    body = orjson.loads(as_json.out)
    assert body["ok"] is False
    [tenant] = body["tenants"]
    assert tenant["first_bad_seq"] == 57
    assert tenant["problems"][0]["kind"] == "altered"
    assert body["verifier_key"] == service.integrity.verifier_key

    assert other_key.code == 1, other_key
    assert "not validly signed" in other_key.text
    assert "none of the stored checkpoints is signed by the verifier key" in other_key.text

    assert unknown.code == 2, unknown
    assert "No tenant named 'no-such-tenant'" in unknown.text
    assert bad_key.code == 2, bad_key
    assert "--public-key is not a verifier key" in bad_key.text


def test_the_cli_checks_every_tenant_by_default(tmp_path: Path) -> None:
    """Without --tenant, every tenant of a (fresh SQLite) deployment is checked."""
    settings = Settings(data_dir=tmp_path / "data", secret_key=SESSION_SECRET_KEY)
    service = Trailkeeper.open(settings)
    try:
        good, bad = new_log(service, settings), new_log(service, settings)
        bad.db.run("DELETE FROM events WHERE tenant_id = ? AND seq = 120", (bad.tenant.id,))
        good.db.close()
        bad.db.close()
    finally:
        service.close()
    [done] = run_cli(settings, ["--json"])
    assert done.code == 1, done
    body = orjson.loads(done.out)
    found = {t["tenant"]: (t["ok"], t["first_bad_seq"]) for t in body["tenants"]}
    assert found == {good.tenant.name: (True, None), bad.tenant.name: (False, 120)}


def test_a_log_with_events_and_no_checkpoint_fails_unless_allowed(log: Log) -> None:
    """Deleting the checkpoints must not turn a log into one that verifies (CONTRACT
    section 2: ``--allow-unsealed`` accepts it knowingly)."""
    log.db.run("DELETE FROM checkpoints WHERE tenant_id = ?", (log.tenant.id,))
    refused, as_json, allowed = run_cli(
        log.service.settings,
        ["--tenant", log.tenant.name],
        ["--tenant", log.tenant.name, "--json"],
        ["--tenant", log.tenant.name, "--allow-unsealed"],
    )
    assert refused.code == 1, refused
    assert f"WARNING: tenant {log.tenant.name} has {TOTAL:,} events but no checkpoint" in (
        refused.text
    )
    assert "--allow-unsealed" in refused.err
    assert "OK tenant" not in refused.text
    assert as_json.code == 1, as_json
    body = orjson.loads(as_json.out)
    assert body["ok"] is False
    assert body["tenants"][0]["unsealed"] is True
    assert "WARNING" in as_json.err
    assert allowed.code == 0, allowed
    assert f"OK tenant {log.tenant.name}: intact" in allowed.text
    assert "no checkpoint yet" in allowed.text


@pytest.mark.parametrize("salt", [b"\x01\x02", "not hex"], ids=["bytes", "text"])
def test_a_pii_salt_of_the_wrong_kind_names_the_row_and_the_problem(
    log: Log, salt: bytes | str
) -> None:
    if isinstance(salt, bytes) and log.db.postgres:
        salt = "\\x0102"  # a text column: what bytes become there
    log.update(42, pii_salt=salt)
    report = log.verify()
    assert [(p.seq, p.kind) for p in report.problems] == [(42, "altered")]
    message = report.problems[0].message
    assert "pii_salt" in message, message
    assert "seq 42" in message, message
    assert "Error" not in message, message
    assert report.events == TOTAL  # the rest of the log was checked


# chunks -----------------------------------------------------------------------------
# ``verify`` checks the log in aligned chunks (in worker processes too) and re-reads a chunk
# row by row only when it is not clean. Whatever was tampered with, and wherever a chunk
# boundary falls, the report must be the one a single pass over the rows gives.


def _found(report: VerificationReport) -> dict[str, Any]:
    return {
        "problems": [p.as_dict() for p in report.problems],
        "problem_count": report.problem_count,
        "events": report.events,
        "log_size": report.log_size,
        "checkpoints_verified": report.checkpoints_verified,
    }


def one_pass(log: Log) -> dict[str, Any]:
    """The reference: one chunk holding the whole log, never merged at once, so every row
    is read and checked in order in one pass."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunks, "CHUNK_HEIGHT", 40)
        patch.setattr(runner, "merged_at_once", lambda checker, task, outcome: False)
        return _found(log.verify())


def chunked(log: Log, monkeypatch: pytest.MonkeyPatch, height: int, **kwargs: Any) -> Any:
    monkeypatch.setattr(chunks, "CHUNK_HEIGHT", height)
    return _found(log.verify(**kwargs))


def _rewrite_with_tree_leaf(log: Log, seq: int) -> None:
    view = log.event(seq)
    view["action"] = "card.deleted"
    forged = recompute_leaf(view)
    log.update(seq, action="card.deleted", leaf_hash=forged)
    [(blob,)] = log.db.query(
        "SELECT hashes FROM tree_tiles WHERE tenant_id = ? AND level = 0 AND idx = ?",
        (log.tenant.id, seq >> TILE_HEIGHT),
    )
    at = (seq & (TILE_WIDTH - 1)) * 32
    log.db.run(
        "UPDATE tree_tiles SET hashes = ? WHERE tenant_id = ? AND level = 0 AND idx = ?",
        (bytes(blob[:at]) + forged + bytes(blob[at + 32 :]), log.tenant.id, seq >> TILE_HEIGHT),
    )


def _drop_seq_index(log: Log, seq: int) -> None:
    """SQLite: the (tenant, seq) unique index of the month table that holds ``seq``."""
    from trailkeeper.storage.sqlite.months import month_of, month_table

    table = month_table(month_of(log.row(seq)["received_at"]))
    log.db.run(f'DROP INDEX "{table}_seq"')


def _insert_copy(log: Log, seq: int) -> None:
    if not log.db.postgres:
        _drop_seq_index(log, seq)
    forged = log.row(seq)
    forged.update(id=f"forged-{seq}", action="user.deleted")
    forged["received_at"] += 1 if isinstance(forged["received_at"], int) else timedelta(0, 1)
    marks = ", ".join("?" * len(forged))
    log.db.run(f"INSERT INTO events ({', '.join(forged)}) VALUES ({marks})", list(forged.values()))


def _delete(log: Log, first: int, last: int) -> None:
    log.db.run(
        "DELETE FROM events WHERE tenant_id = ? AND seq >= ? AND seq <= ?",
        (log.tenant.id, first, last),
    )


TAMPERING: dict[str, Any] = {
    "untouched": lambda log: None,
    "first row": lambda log: log.update(0, action="card.deleted"),
    "last row of a chunk": lambda log: log.update(31, source="api"),
    "first row of a chunk": lambda log: log.update(32, source="api"),
    "chunks apart": lambda log: (log.update(40, source="api"), log.update(200, source="api")),
    "last signed row": lambda log: log.update(299, source="api"),
    "newest row": lambda log: log.update(309, source="api"),
    "personal data": lambda log: log.update(80, actor_name="Someone Else"),
    "rows across a boundary deleted": lambda log: _delete(log, 30, 33),
    "row inserted at a boundary": lambda log: _insert_copy(log, 32),
    "rows swapped across a boundary": lambda log: log.swap(31, 32),
    "tail deleted": lambda log: _delete(log, 250, TOTAL),
    "leaf_hash rewritten": lambda log: log.update(
        90, action="card.deleted", leaf_hash=recompute_leaf({**log.event(90), "action": "x.y"})
    ),
    "tree leaf rewritten too": lambda log: _rewrite_with_tree_leaf(log, 90),
    "tile damaged": lambda log: log.db.run(
        "UPDATE tree_tiles SET hashes = ? WHERE tenant_id = ? AND level = 0 AND idx = 3",
        (b"\x07" * 32 * TILE_WIDTH, log.tenant.id),
    ),
    "unreadable row": lambda log: log.update(42, metadata="{not json"),
}


@pytest.mark.parametrize("signed_again", [False, True], ids=["300 signed", "300+310 signed"])
@pytest.mark.parametrize("tampering", TAMPERING)
def test_chunked_checks_report_what_one_pass_reports(
    log: Log, monkeypatch: pytest.MonkeyPatch, tampering: str, signed_again: bool
) -> None:
    """Signed again, the whole log is integrated and the checkpoint of size 300 ends
    inside a chunk that lies inside the tree (288..303 with chunks of 16)."""
    if signed_again:
        log.service.integrity.sync(log.tenant.id)
    TAMPERING[tampering](log)
    expected = one_pass(log)
    assert (expected["problems"] == []) is (tampering == "untouched")
    for height in (4, 5):  # chunks of 16 and 32 rows: boundaries at 16, 32, 48, ...
        assert chunked(log, monkeypatch, height) == expected, height


def test_clean_chunks_are_merged_without_reading_their_rows_again(
    log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    reread: list[int] = []
    checked = runner.readable_row_by_row
    monkeypatch.setattr(
        runner,
        "readable_row_by_row",
        lambda checker, reader, task: reread.append(task.first) or checked(checker, reader, task),
    )
    log.service.integrity.sync(log.tenant.id)  # checkpoints of size 300 and 310
    log.update(100, source="api")
    report = chunked(log, monkeypatch, 4)
    assert [(p["seq"], p["kind"]) for p in report["problems"]] == [(100, "altered")]
    assert reread == [96]  # only the chunk holding seq 100
    assert report["checkpoints_verified"] == 2  # 300 inside chunk 288..303, checked at once


@pytest.mark.parametrize("bad", [[200], [40, 200], [31, 32, 290]])
def test_worker_processes_name_the_first_bad_seq(
    log: Log, monkeypatch: pytest.MonkeyPatch, bad: list[int]
) -> None:
    """Chunks checked in parallel: damage in a later chunk than the first, or on both
    sides of a boundary, is reported in seq order, exactly as by one pass."""
    for seq in bad:
        log.update(seq, source="api")
    expected = one_pass(log)
    pool = worker_pool(2)
    try:
        found = chunked(log, monkeypatch, 4, workers=2, pool=pool)
    finally:
        pool.shutdown()
    assert found == expected
    assert [p["seq"] for p in found["problems"]] == bad
