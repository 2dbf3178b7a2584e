"""The console script's administration edges (CONTRACT section 2): read-only commands that
create nothing, ``tenants list``, webhook secret rotation, ``--json`` everywhere, help that
shows defaults and every scope, token ids never cut."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer.main

from cli_support import WEBHOOK_SECRET, Cli, make_cli
from trailkeeper.events.query import EventQuery

READ_ONLY = [
    ["keys", "show"],
    ["verify", "--tenant", "demo"],
    ["verify"],
    ["tokens", "list", "--tenant", "acme"],
    ["tokens", "create", "--tenant", "acme", "--name", "x", "--scope", "admin"],
    ["tokens", "revoke", "--tenant", "acme", "tok_0000000000000000"],
    ["tenants", "list"],
    ["tenants", "rotate-webhook-secret", "acme"],
]


@pytest.fixture
def cli(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Cli:
    return make_cli(backend, tmp_path, request)


def test_read_only_commands_create_nothing_where_there_is_no_deployment(tmp_path: Path) -> None:
    """``keys show`` from the wrong folder must not make and print a fresh key."""
    cli = Cli(tmp_path / "elsewhere" / "trailkeeper-data", None, None)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"{}\n")
    commands = [*READ_ONLY, ["ingest", "--tenant", "acme", str(events)]]
    for done in cli.run_all(*commands):
        assert done.code == 2, done
        assert done.out == "", done
        assert f"no trailkeeper deployment here: {cli.data_dir} does not exist" in done.text
        assert "--data-dir" in done.text
    assert not (tmp_path / "elsewhere").exists()


def test_a_data_dir_without_keys_or_database_is_named_and_left_alone(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data", None, None)
    cli.data_dir.mkdir()
    (cli.data_dir / "trailkeeper.sqlite3").touch()  # an empty file: no schema
    keys, tokens = cli.run_all(["keys", "show"], ["tokens", "list", "--tenant", "acme"])
    assert keys.code == tokens.code == 2, (keys, tokens)
    assert f"{cli.data_dir} has no signing.key" in keys.text
    assert f"{cli.data_dir} has no signing.key or secret.key" in tokens.text
    assert sorted(p.name for p in cli.data_dir.iterdir()) == ["trailkeeper.sqlite3"]
    assert cli.run("migrate").code == 0  # migrate sets the deployment up
    assert cli.run("keys", "show").code == 0
    (cli.data_dir / "trailkeeper.sqlite3").unlink()
    (cli.data_dir / "trailkeeper.sqlite3").touch()
    empty = cli.run("tenants", "list")
    assert empty.code == 2, empty
    assert f"{cli.data_dir / 'trailkeeper.sqlite3'} has no tables" in empty.text


def test_tenants_list_and_webhook_secret_rotation(cli: Cli) -> None:
    name = f"acme-{uuid.uuid4().hex[:8]}"
    created = cli.run("tenants", "create", name, "--json").json()
    listed = cli.run("tenants", "list", "--json")
    rotated = cli.run("tenants", "rotate-webhook-secret", name, "--json")
    mine = [t for t in listed.json() if t["tenant"] == name]
    assert len(mine) == 1
    assert set(mine[0]) == {"tenant", "created_at", "events"}
    assert mine[0]["events"] == 1  # the admin token's self-audit event
    assert created["webhook_secret"] not in listed.out
    new = rotated.json()
    assert set(new) == {"tenant", "webhook_secret"}
    assert new["tenant"] == name
    assert WEBHOOK_SECRET.match(new["webhook_secret"])
    assert new["webhook_secret"] != created["webhook_secret"]
    service = cli.service()
    try:
        tenant = service.tenancy.tenant(name)
        assert service.tenancy.webhook_secret(tenant) == new["webhook_secret"]
        audit = service.store.page(tenant.id, EventQuery(order="asc"), None, 10)
    finally:
        service.close()
    assert [e["action"] for e in audit] == [
        "trailkeeper.token.created",
        "trailkeeper.webhook_secret.rotated",
    ]
    assert audit[1]["source"] == "cli"
    assert new["webhook_secret"] not in orjson.dumps(audit).decode()
    table = cli.run("tenants", "list")
    assert table.code == 0, table
    assert name in table.text


def test_token_ids_are_never_cut_on_a_narrow_terminal(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data", None, None)
    cli.env["COLUMNS"] = "40"
    cli.run("tenants", "create", "acme").json()
    made = cli.run(
        "tokens", "create", "--tenant", "acme", "--name", "a rather long name for a token",
        "--scope", "audit-log:list", "--scope", "audit-log:export",
    ).json()  # fmt: skip
    listed = cli.run("tokens", "list", "--tenant", "acme")
    assert listed.code == 0, listed
    lines = listed.err.splitlines()
    assert any(made["id"] in line for line in lines), listed.err
    assert all(len(line) <= 40 for line in lines), listed.err


def test_help_shows_the_data_dir_default_and_every_scope(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data", None, None)
    helps = cli.run_all(
        ["tokens", "list", "--help"], ["tokens", "create", "--help"], ["serve", "--help"],
        ["worker", "--help"], ["keys", "show", "--help"],
    )  # fmt: skip
    for done in helps:
        assert done.code == 0, done
        assert "[default: ./trailkeeper-data]" in done.text, done
    for scope in ("audit-log:export", "streams:manage", "retention:manage"):
        assert scope in helps[1].text  # every scope that exists is offered
    assert not cli.data_dir.exists()


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every leaf command of the console script, by its full name."""
    children = getattr(command, "commands", None)
    if children is None:
        yield " ".join(path), command
        return
    for name, child in children.items():
        yield from _commands(child, (*path, name))


def test_every_command_that_prints_data_takes_json() -> None:
    """Only the long-running processes print no data (contract section 2: ``--json``)."""
    from trailkeeper.cli import app

    commands = dict(_commands(typer.main.get_command(app)))
    without = {
        name for name, command in commands.items()
        if not any("--json" in getattr(p, "opts", ()) for p in command.params)
    }  # fmt: skip
    assert without == {"serve", "worker"}
    assert {"keys show", "migrate", "tokens revoke", "retention erase"} <= set(commands)


def test_migrate_keys_and_tokens_answer_in_json(cli: Cli) -> None:
    migrated = cli.run("migrate", "--json").json()
    assert migrated["backend"] == ("sqlite" if cli.database_url is None else "postgresql")
    assert isinstance(migrated["schema_version"], int)
    assert migrated["schema_version"] > 0
    key = cli.run("keys", "show", "--json").json()
    assert set(key) == {"verifier_key", "key_name"}
    assert key["verifier_key"].startswith(key["key_name"] + "+")
    name = f"acme-{uuid.uuid4().hex[:8]}"
    cli.run("tenants", "create", name, "--json").json()
    made = cli.run(
        "tokens", "create", "--tenant", name, "--name", "reader", "--scope", "audit-log:list",
        "--json",
    ).json()  # fmt: skip
    assert made["token"].startswith("tk_")
    assert made["scopes"] == ["audit-log:list"]
    revoked = cli.run("tokens", "revoke", "--tenant", name, made["id"], "--json").json()
    assert (revoked["id"], revoked["name"]) == (made["id"], "reader")
    assert revoked["revoked_at"] is not None
    assert "token" not in revoked  # the secret is shown once, at creation
    listed = cli.run("tokens", "list", "--tenant", name, "--json").json()
    assert [t["revoked_at"] for t in listed if t["id"] == made["id"]] == [revoked["revoked_at"]]
