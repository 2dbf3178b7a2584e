"""The real ``trailkeeper`` console script as subprocesses, pointed at one deployment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from support import SESSION_SECRET_KEY
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

EXE = Path(sys.executable).parent / "trailkeeper"
TOKEN = re.compile(r"^tk_[A-Za-z0-9_-]{32,}$")
WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")  # standard base64 of 32 bytes
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


@dataclass
class Done:
    args: Any
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """Both streams, with Rich's line wrapping undone."""
        return " ".join((self.out + " " + self.err).split())

    def json(self) -> Any:
        assert self.code == 0, self
        return orjson.loads(self.out)


@dataclass
class Cli:
    """The console script pointed at one deployment (data dir and maybe PostgreSQL)."""

    data_dir: Path
    database_url: str | None
    secret_key: str | None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILKEEPER_")}
        self.env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
        if self.secret_key is not None:
            self.env["TRAILKEEPER_SECRET_KEY"] = self.secret_key

    def argv(self, *args: str) -> list[str]:
        argv = [str(EXE), *args, "--data-dir", str(self.data_dir)]
        if self.database_url:
            argv += ["--database-url", self.database_url]
        return argv

    def run(self, *args: str) -> Done:
        return self.run_all(list(args))[0]

    def run_all(self, *commands: list[str]) -> list[Done]:
        """Start every command at once, then wait for each."""
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        started = [subprocess.Popen(self.argv(*c), env=self.env, **pipes) for c in commands]
        done = []
        for process in started:
            out, err = process.communicate(timeout=120)
            done.append(Done(process.args, process.returncode, out.decode(), err.decode()))
            assert "Traceback" not in done[-1].err, done[-1]
        return done

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir, database_url=self.database_url, secret_key=self.secret_key
        )

    def service(self) -> Trailkeeper:
        return Trailkeeper.open(self.settings())


def make_cli(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Cli:
    if backend == "postgresql":
        # the session database is shared, and holds one deployment key
        return Cli(tmp_path / "data", request.getfixturevalue("pg_url"), SESSION_SECRET_KEY)
    return Cli(tmp_path / "data", None, None)
