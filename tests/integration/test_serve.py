"""``trailkeeper serve`` as a real process: ``--demo`` restarts, ``--processes`` children
that die with their parent, and files under the data dir that only their owner can read."""

from __future__ import annotations

import os
import signal
import socket
import stat
from pathlib import Path

import httpx

from serve_support import NARROW, ready, serving, wait_until
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings


def printed(log: Path, label: str) -> str:
    """The first word after ``label`` on the banner line that starts with it."""
    return next(line.split()[2] for line in log.read_text().splitlines() if line.startswith(label))


def test_demo_restarts_reuse_the_token_and_print_the_secret_once(tmp_path: Path) -> None:
    with serving(tmp_path, "--demo", env=NARROW) as (url, log, _):
        first = log.read_text()
        lines = first.splitlines()
        token = printed(log, "admin token:")
        secret = printed(log, "webhook secret:")
        [curl] = [line for line in lines if line.startswith("try:")]
        # one line, whole, whatever the terminal width: it can be pasted
        assert curl.endswith(f"curl -H 'Authorization: Bearer {token}' '{url}/v1/events?limit=5'")
        events = httpx.get(f"{url}/v1/events?limit=5", headers={"Authorization": f"Bearer {token}"})
        assert events.status_code == 200, events.text
    data_dir = tmp_path / "trailkeeper-data"
    assert (data_dir / "demo.token").read_text().strip() == token
    with serving(tmp_path, "--demo", env=NARROW) as (url, log, _):
        again = log.read_text()
        assert f"admin token:    {token}" in again
        assert "webhook secret" not in again
        assert "created tenant" not in again
    service = Trailkeeper.open(Settings(data_dir=data_dir))
    try:
        tenant = service.tenancy.tenant("demo")
        assert service.tenancy.webhook_secret(tenant) == secret
        tokens = service.tenancy.list_tokens(tenant)
        assert len(tokens) == 1, tokens  # no admin token minted per restart
        service.tenancy.revoke_token(tenant, tokens[0]["id"], None)
    finally:
        service.close()
    with serving(tmp_path, "--demo") as (url, log, _):  # a revoked token is replaced
        new = printed(log, "admin token:")
        assert new != token
        ok = httpx.get(f"{url}/v1/events?limit=1", headers={"Authorization": f"Bearer {new}"})
        assert ok.status_code == 200


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def live_children(pid: int) -> list[int]:
    return [c for c in children_of(pid) if alive(c)]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_processes_die_with_a_parent_killed_with_sigkill(tmp_path: Path) -> None:
    with serving(tmp_path, "--processes", "2") as (url, _, process):
        # uvicorn's two API processes (multiprocessing may add a helper: it must go too)
        wait_until(lambda: len(live_children(process.pid)) >= 2, "two children", 120)
        workers = live_children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        port = int(url.rsplit(":", 1)[1])
        # generous for a loaded machine: without the fix they never exit
        wait_until(lambda: port_free(port), "the port is free", seconds=30)
        wait_until(lambda: not any(alive(c) for c in workers), "the children exit", seconds=30)
        assert not ready(url)


def test_files_under_the_data_dir_are_private(tmp_path: Path) -> None:
    """SQLite's database, WAL and SHM, keys, exports and folders: owner only."""
    with serving(tmp_path, "--demo") as (url, _, _):
        token = (tmp_path / "trailkeeper-data" / "demo.token").read_text().strip()
        auth = {"Authorization": f"Bearer {token}"}
        made = httpx.post(f"{url}/v1/exports", json={"format": "csv"}, headers=auth)
        assert made.status_code == 202, made.text
        export = made.json()["id"]
        wait_until(
            lambda: (
                httpx.get(f"{url}/v1/exports/{export}", headers=auth).json()["status"]
                in ("succeeded", "failed")
            ),
            "the export finishes",
        )
        assert httpx.get(f"{url}/v1/exports/{export}", headers=auth).json()["status"] == "succeeded"
        data_dir = tmp_path / "trailkeeper-data"
        names = {p.name for p in data_dir.rglob("*")}
        assert {"trailkeeper.sqlite3-wal", "trailkeeper.sqlite3-shm", "demo.token"} <= names
        assert any(name.endswith(".csv") for name in names), names
        for path in [data_dir, *data_dir.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            expected = 0o700 if path.is_dir() else 0o600
            assert mode == expected, f"{path}: {oct(mode)}"
