"""The real ``trailkeeper`` console script, as subprocesses, on SQLite and PostgreSQL
(CONTRACT section 2): migrate, tenants, tokens and bulk ingest.

Independent commands run side by side to keep the number of sequential process
starts (about a second each) small."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from cli_support import TIMESTAMP, TOKEN, WEBHOOK_SECRET, Cli, make_cli
from support import make_event
from trailkeeper.errors import Unauthenticated
from trailkeeper.events.query import EventQuery
from trailkeeper.service import Trailkeeper


@pytest.fixture
def cli(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Cli:
    return make_cli(backend, tmp_path, request)


def tenant_name(cli: Cli, base: str) -> str:
    """``base`` on a fresh SQLite file; unique in the shared PostgreSQL database."""
    return base if cli.database_url is None else f"{base}-{uuid.uuid4().hex[:8]}"


def all_events(service: Trailkeeper, tenant: str) -> list[dict[str, Any]]:
    tenant_id = service.tenancy.tenant(tenant).id
    return service.store.page(tenant_id, EventQuery(order="asc"), None, 100_000)


def test_migrate_tenants_and_tokens(cli: Cli) -> None:
    migrated = cli.run("migrate")
    assert migrated.code == 0, migrated
    assert "schema at version" in migrated.text

    acme = tenant_name(cli, "acme")
    created = cli.run("tenants", "create", acme).json()
    assert set(created) == {"tenant", "admin_token", "webhook_secret"}
    assert created["tenant"] == acme
    assert TOKEN.match(created["admin_token"]), created
    assert WEBHOOK_SECRET.match(created["webhook_secret"]), created

    again, token, bad_scope = cli.run_all(
        ["tenants", "create", acme],
        ["tokens", "create", "--tenant", acme, "--name", "ci",
         "--scope", "events:write", "--scope", "audit-log:list"],
        ["tokens", "create", "--tenant", acme, "--name", "x", "--scope", "events:read"],
    )  # fmt: skip
    assert again.code != 0, again
    assert f"Tenant '{acme}' already exists" in again.text
    assert again.out == ""
    ci = token.json()
    assert set(ci) == {"token", "id", "scopes"}
    assert TOKEN.match(ci["token"]), ci
    assert ci["scopes"] == ["events:write", "audit-log:list"]
    assert bad_scope.code != 0, bad_scope
    assert "unknown scope(s) ['events:read']" in bad_scope.text
    assert "audit-log:export" in bad_scope.text  # names the allowed ones
    assert bad_scope.out == ""

    revoked = cli.run("tokens", "revoke", "--tenant", acme, ci["id"])
    assert revoked.code == 0, revoked
    assert f"revoked {ci['id']} (ci)" in revoked.text

    listing = cli.run("tokens", "list", "--tenant", acme, "--json")
    tokens = {t["name"]: t for t in listing.json()}
    assert set(tokens) == {"admin", "ci"}
    for shown in tokens.values():
        assert set(shown) == {"id", "name", "scopes", "created_at", "revoked_at"}
        assert TIMESTAMP.match(shown["created_at"])
    assert tokens["ci"]["id"] == ci["id"]
    assert tokens["ci"]["scopes"] == ci["scopes"]
    assert TIMESTAMP.match(tokens["ci"]["revoked_at"] or ""), tokens["ci"]
    assert tokens["admin"]["revoked_at"] is None
    assert tokens["admin"]["scopes"] == ["admin"]
    for secret in (created["admin_token"], ci["token"], "tk_", "hash"):
        assert secret not in listing.out

    service = cli.service()
    try:
        with pytest.raises(Unauthenticated):
            service.tenancy.authenticate(f"Bearer {ci['token']}")
        assert service.tenancy.authenticate(f"Bearer {created['admin_token']}")
        events = all_events(service, acme)
    finally:
        service.close()
    # the refused token (unknown scope) left no trace
    assert [(e["seq"], e["action"], e["resource"]["name"]) for e in events] == [
        (0, "trailkeeper.token.created", "admin"),
        (1, "trailkeeper.token.created", "ci"),
        (2, "trailkeeper.token.revoked", "ci"),
    ]
    for event in events:
        assert event["category"] == "trailkeeper"
        assert event["source"] == "cli"
        assert event["actor"]["id"] == "trailkeeper-cli"
    assert events[1]["resource"]["id"] == events[2]["resource"]["id"] == ci["id"]
    assert events[1]["metadata"] == {"scopes": ["events:write", "audit-log:list"]}


def write_jsonl(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.parametrize("workers", ["0", "2"])
def test_ingest_in_batches(cli: Cli, tmp_path: Path, workers: str) -> None:
    good, invalid, broken = (tenant_name(cli, n) for n in ("good", "invalid", "broken"))
    service = cli.service()  # creates and migrates the database
    try:
        for name in (good, invalid, broken):
            service.tenancy.create_tenant(name)  # seq 0: the admin token's self-audit event
    finally:
        service.close()

    events = [orjson.dumps(make_event(i)) for i in range(2500)]
    good_file = write_jsonl(tmp_path / "good.jsonl", [*events[:10], b"", b"  ", *events[10:]])
    # line 10 is blank, so line n holds event n - 2 from there on
    invalid_lines = [*events[:9], b"", *events[9:1500]]
    invalid_lines[1233] = orjson.dumps(make_event(1232, actor={"name": "no id"}))
    invalid_file = write_jsonl(tmp_path / "invalid.jsonl", invalid_lines)
    broken_lines = events[:1500]
    broken_lines[1099] = b'{"action": "card.moved", '
    broken_file = write_jsonl(tmp_path / "broken.jsonl", broken_lines)

    loaded, refused, unparsable = cli.run_all(
        ["ingest", "--tenant", good, str(good_file), "--json", "--workers", workers],
        ["ingest", "--tenant", invalid, str(invalid_file), "--workers", workers],
        ["ingest", "--tenant", broken, str(broken_file), "--workers", workers],
    )
    assert loaded.json() == {"tenant": good, "events": 2500, "new": 2500, "already_present": 0}

    assert refused.code == 1, refused
    assert "line 1234: actor.id: is required" in refused.text
    assert "This batch was not stored; earlier batches were stored: 1,000 events" in refused.text
    assert "(1,000 new, 0 already present)" in refused.text

    assert unparsable.code == 1, unparsable
    assert "line 1100" in unparsable.text
    assert "not valid JSON" in unparsable.text
    assert "earlier batches were stored: 1,000 events (1,000 new" in unparsable.text

    service = cli.service()
    try:
        stored = {name: all_events(service, name) for name in (good, invalid, broken)}
    finally:
        service.close()

    sent = stored[good][1:]
    assert [e["seq"] for e in stored[good]] == list(range(2501))
    assert [e["id"] for e in sent] == [f"evt-{i}" for i in range(2500)]
    batches: dict[str, int] = {}
    for event in sent:  # one batch shares one received_at
        batches[event["received_at"]] = batches.get(event["received_at"], 0) + 1
    assert sorted(batches.values(), reverse=True) == [1000, 1000, 500]

    for name in (invalid, broken):  # exactly the first batch, nothing of the second
        assert [e["seq"] for e in stored[name]] == list(range(1001)), name
        assert [e["id"] for e in stored[name][1:]] == [f"evt-{i}" for i in range(1000)], name


def test_ingest_with_workers_stores_what_one_process_stores(cli: Cli, tmp_path: Path) -> None:
    """The same gzip file (blank lines, an id twice, 3,300 events in four batches) loaded
    by this process alone and with worker processes: the same report and the same stored
    events, but for what differs by design (the salt, and so ``pii`` and ``leaf_hash``,
    and ``received_at``); ``verify`` recomputes those of both tenants from their fields."""
    alone, helped = tenant_name(cli, "alone"), tenant_name(cli, "helped")
    cli.run_all(["tenants", "create", alone], ["tenants", "create", helped])
    lines = [orjson.dumps(make_event(i, metadata={"n": i, "f": i / 7})) for i in range(3300)]
    lines[100:100] = [b"", b"  "]
    lines.append(lines[2000])
    zipped = tmp_path / "events.jsonl.gz"
    zipped.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    reports = cli.run_all(
        ["ingest", "--tenant", alone, str(zipped), "--json", "--workers", "0"],
        ["ingest", "--tenant", helped, str(zipped), "--json", "--workers", "2"],
    )
    for done, name in zip(reports, (alone, helped), strict=True):
        assert done.json() == {"tenant": name, "events": 3301, "new": 3300, "already_present": 1}
    service = cli.service()
    try:
        stored = [all_events(service, name) for name in (alone, helped)]
    finally:
        service.close()
    by_design = ("received_at", "pii", "leaf_hash")
    same = [[{k: v for k, v in e.items() if k not in by_design} for e in s[1:]] for s in stored]
    assert len(same[0]) == 3300
    assert same[0] == same[1]
    verified = cli.run_all(
        *(["verify", "--tenant", name, "--allow-unsealed"] for name in (alone, helped))
    )
    assert all(done.code == 0 for done in verified), verified


def test_clear_errors_for_missing_files_and_tenants(tmp_path: Path) -> None:
    """Usage errors, the same on both backends, so checked once."""
    cli = Cli(tmp_path / "data", None, None)
    assert cli.run("migrate").code == 0
    missing, directory, no_tenant = cli.run_all(
        ["ingest", "--tenant", "acme", str(tmp_path / "missing.jsonl")],
        ["ingest", "--tenant", "acme", str(tmp_path)],
        ["tokens", "list", "--tenant", "no-such-tenant"],
    )
    assert missing.code != 0, missing
    assert "missing.jsonl" in missing.text
    assert "does not exist" in missing.text
    assert directory.code != 0, directory
    assert "is a directory" in directory.text
    assert no_tenant.code != 0, no_tenant
    assert "No tenant named 'no-such-tenant'" in no_tenant.text
    assert no_tenant.out == ""


def test_a_database_that_cannot_be_opened_is_one_clear_line(tmp_path: Path) -> None:
    """A directory where the SQLite file should be: exit 2 and a message, no traceback."""
    cli = Cli(tmp_path / "data", None, None)
    (cli.data_dir / "trailkeeper.sqlite3").mkdir(parents=True)
    done = cli.run("migrate")
    assert done.code == 2, done
    assert "error: cannot open the database" in done.text, done


def test_ingest_reports_new_and_already_present_events(cli: Cli, tmp_path: Path) -> None:
    """Re-running a file stores nothing twice and says so; a first batch that fails never
    claims that earlier batches were stored."""
    name = tenant_name(cli, "again")
    cli.run("tenants", "create", name).json()
    lines = [orjson.dumps(make_event(i)) for i in range(1500)]
    first = write_jsonl(tmp_path / "first.jsonl", lines[:1200])
    whole = write_jsonl(tmp_path / "whole.jsonl", lines)
    assert cli.run("ingest", "--tenant", name, str(first), "--json").json() == {
        "tenant": name, "events": 1200, "new": 1200, "already_present": 0,
    }  # fmt: skip
    assert cli.run("ingest", "--tenant", name, str(whole), "--json").json() == {
        "tenant": name, "events": 1500, "new": 300, "already_present": 1200,
    }  # fmt: skip
    text = cli.run("ingest", "--tenant", name, str(whole))
    assert text.code == 0, text
    assert f"stored 1,500 events (0 new, 1,500 already present) in tenant '{name}'" in text.text

    bad_first = write_jsonl(tmp_path / "bad.jsonl", [b'{"action": '])
    invalid_first = write_jsonl(tmp_path / "invalid.jsonl", [orjson.dumps({"action": "x"})])
    unparsable, refused = cli.run_all(
        ["ingest", "--tenant", name, str(bad_first)],
        ["ingest", "--tenant", name, str(invalid_first)],
    )
    for done in (unparsable, refused):
        assert done.code == 1, done
        assert "nothing was stored" in done.text
        assert "earlier batches were" not in done.text


def test_ingest_reads_gzip_files_and_counts_ids_repeated_within_a_file(
    cli: Cli, tmp_path: Path
) -> None:
    """A ``.gz`` file (known by its magic bytes) loads like the plain one; an id that the
    file holds twice, in two batches stored in one transaction, is new once."""
    name = tenant_name(cli, "gz")
    cli.run("tenants", "create", name).json()
    lines = [orjson.dumps(make_event(i)) for i in range(2300)]
    lines += [orjson.dumps(make_event(5))]  # the same event again, in the third batch
    zipped = tmp_path / "events.jsonl.gz"
    zipped.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    assert cli.run("ingest", "--tenant", name, str(zipped), "--json").json() == {
        "tenant": name, "events": 2301, "new": 2300, "already_present": 1,
    }  # fmt: skip
    service = cli.service()
    try:
        stored = all_events(service, name)
    finally:
        service.close()
    assert [e["id"] for e in stored[1:]] == [f"evt-{i}" for i in range(2300)]


def test_a_batch_the_store_refuses_stops_the_load_after_its_group(cli: Cli, tmp_path: Path) -> None:
    """Ten batches are stored per transaction: a batch the store refuses (an id already in
    the log with other content) stops the load after its group (whose other batches stand),
    with the report of that batch and nothing of what the file holds after the group."""
    name = tenant_name(cli, "overlap")
    cli.run("tenants", "create", name).json()
    taken = write_jsonl(tmp_path / "taken.jsonl", [orjson.dumps(make_event(4500, action="x.y"))])
    assert cli.run("ingest", "--tenant", name, str(taken), "--json").json()["new"] == 1
    lines = [orjson.dumps(make_event(i)) for i in range(11_000)]
    lines[10_500] = orjson.dumps(make_event(10_500, actor={"name": "no id"}))
    done = cli.run("ingest", "--tenant", name, str(write_jsonl(tmp_path / "big.jsonl", lines)))
    assert done.code == 1, done
    assert "already in the log" in done.text, done
    assert "line 4501: id:" in done.text, done
    assert "earlier batches were stored: 9,000 events (9,000 new" in done.text, done
    assert "line 10501" not in done.text, done
    service = cli.service()
    try:
        stored = all_events(service, name)
    finally:
        service.close()
    kept = [*range(4000), *range(5000, 10_000)]
    assert [e["id"] for e in stored[2:]] == [f"evt-{i}" for i in kept]

    whole = [orjson.dumps(make_event(i)) for i in range(20_000, 32_500)]
    loaded = cli.run("ingest", "--tenant", name, str(write_jsonl(tmp_path / "ok.jsonl", whole)))
    assert f"stored 12,500 events (12,500 new, 0 already present) in tenant '{name}'" in (
        loaded.text
    ), loaded
