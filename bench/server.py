"""A real ``trailkeeper serve`` subprocess on a free loopback port, and its database.

``Deployment`` owns everything one backend's run needs: a data dir (SQLite file and deployment
key), for PostgreSQL a scratch database ``bench_tk_<pid>`` (dropped afterwards), a tenant made
with ``trailkeeper tenants create``, and the server process itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import orjson
import psycopg

__all__ = ["Deployment", "ServerCommand", "free_port"]

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
VERY_HIGH = str(1_000_000_000)  # requests/minute: rate limits never bite during a benchmark
TENANT = "bench"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("trailkeeper")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "trailkeeper.cli"]


def _with_database(url: str, name: str) -> str:
    """``url`` with its database name replaced (``postgresql://user@host:port/db``)."""
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


@dataclass(frozen=True)
class ServerCommand:
    """How the server is started: ``wrapper`` before the command (e.g. valgrind), another
    venv's ``python`` (another commit's code, with its ``trailkeeper`` script beside it),
    ``--no-workers``, extra environment, and how long it may take to answer ``/readyz``."""

    wrapper: tuple[str, ...] = ()
    python: str | None = None
    workers: bool = True
    env: tuple[tuple[str, str], ...] = ()
    ready_timeout: float = READY_TIMEOUT

    def cli(self) -> list[str]:
        if self.python is None:
            return _cli()
        return [self.python, str(Path(self.python).with_name("trailkeeper"))]


@dataclass
class Tenant:
    name: str
    token: str


class Deployment:
    """Data dir + database + tenant + server process, cleaned up on exit."""

    def __init__(
        self,
        backend: str,
        admin_url: str,
        *,
        keep: bool = False,
        processes: int = 1,
        server: ServerCommand | None = None,
    ) -> None:
        self.backend = backend
        self.processes = processes
        self.server = server or ServerCommand()
        self.admin_url = admin_url
        self.keep = keep
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"trailkeeper-bench-{backend}-"))
        self.database_url: str | None = None
        self.db_name: str | None = None
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.tenant: Tenant | None = None
        self._log: IO[bytes] | None = None

    # lifecycle -----------------------------------------------------------
    def __enter__(self) -> Deployment:
        try:
            self._setup()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _setup(self) -> None:
        if self.backend == "postgresql":
            self.db_name = f"bench_tk_{os.getpid()}"
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}"')
                conn.execute(f'CREATE DATABASE "{self.db_name}"')
            self.database_url = _with_database(self.admin_url, self.db_name)
        self.tenant = self._create_tenant()
        self._start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self.keep:
            return
        if self.db_name is not None:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("TRAILKEEPER_DATABASE_URL", None)
        env["TRAILKEEPER_READ_RATE_LIMIT"] = VERY_HIGH
        env["TRAILKEEPER_INGEST_RATE_LIMIT"] = VERY_HIGH
        env.update(self.server.env)
        return env

    def _location(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url is not None:
            args += ["--database-url", self.database_url]
        return args

    def _create_tenant(self) -> Tenant:
        done = subprocess.run(
            [*self.server.cli(), "tenants", "create", TENANT, *self._location()],
            env=self._env(),
            capture_output=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError("trailkeeper tenants create failed: " + " / ".join(tail))
        out = done.stdout
        data: dict[str, Any] = orjson.loads(out[out.index(b"{") :])
        return Tenant(str(data["tenant"]), str(data["admin_token"]))

    def _start(self) -> None:
        self._log = (self.data_dir / "server.log").open("wb")
        self.process = subprocess.Popen(
            [
                *self.server.wrapper,
                *self.server.cli(),
                "serve",
                "--host",
                HOST,
                "--port",
                str(self.port),
                *(["--processes", str(self.processes)] if self.processes > 1 else []),
                *([] if self.server.workers else ["--no-workers"]),
                *self._location(),
            ],
            env=self._env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        timeout = self.server.ready_timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"server exited with {code}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout:.0f} s: {self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None

    # facts ----------------------------------------------------------------
    @property
    def pid(self) -> int:
        assert self.process is not None, "server not running"
        return self.process.pid

    @property
    def token(self) -> str:
        assert self.tenant is not None
        return self.tenant.token

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "trailkeeper.sqlite3"

    def log_tail(self, lines: int = 20) -> str:
        path = self.data_dir / "server.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def client(self, timeout: float = 120.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=timeout,
        )
