"""``trailkeeper streams …`` as an operator runs it (the console script, both
databases): create, list, pause, resume, test against a real receiver, delete."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from siem import HEC_TOKEN, splunk_hec
from support import SESSION_SECRET_KEY

EXE = Path(sys.executable).parent / "trailkeeper"


class Cli:
    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.base = ["--data-dir", str(data_dir)]
        if database_url:
            self.base += ["--database-url", database_url]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILKEEPER_")}
        self.env.update(COLUMNS="200", NO_COLOR="1", TRAILKEEPER_SECRET_KEY=SESSION_SECRET_KEY)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(EXE), *args, *self.base], env=self.env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def json(self, *args: str) -> Any:
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stderr
        return orjson.loads(done.stdout)


@pytest.fixture
def cli(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Cli:
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    return Cli(tmp_path / "data", url)


def test_streams_commands(cli: Cli) -> None:
    tenant = f"acme-{uuid.uuid4().hex[:8]}"
    assert cli.run("tenants", "create", tenant).returncode == 0
    with splunk_hec() as hec:
        config = orjson.dumps({"url": hec.url, "token": HEC_TOKEN}).decode()
        refused = cli.run(
            "streams", "create", "--tenant", tenant, "--name", "hec", "--type", "splunk_hec",
            "--config", config,
        )  # fmt: skip
        assert refused.returncode == 1
        assert "loopback" in " ".join(refused.stderr.split())
        created = cli.json(
            "streams", "create", "--tenant", tenant, "--name", "hec", "--type", "splunk_hec",
            "--config", config, "--filters", '{"action": "card.*"}',
            "--allow-private-destinations",
        )  # fmt: skip
        sid = created["id"]
        assert HEC_TOKEN not in str(created)
        assert [s["id"] for s in cli.json("streams", "list", "--tenant", tenant)] == [sid]
        assert cli.json("streams", "pause", "--tenant", tenant, sid)["status"] == "paused"
        assert cli.json("streams", "resume", "--tenant", tenant, sid)["status"] == "active"
        tested = cli.json(
            "streams", "test", "--tenant", tenant, sid, "--allow-private-destinations"
        )
        assert tested == {"delivered": True, "error": None}
        assert hec.events[0]["event"]["action"] == "trailkeeper.stream.test"
        assert cli.json("streams", "delete", "--tenant", tenant, sid)["deleted"] is True
    assert cli.json("streams", "list", "--tenant", tenant) == []
    missing = cli.run("streams", "pause", "--tenant", tenant, sid)
    assert missing.returncode == 1
    assert "No stream with id" in missing.stderr
