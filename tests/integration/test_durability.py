"""Real server processes: acknowledged events survive ``kill -9``, and several
processes writing to one database never produce seq gaps or duplicates."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import SESSION_SECRET_KEY, ServerProcess, make_event
from trailkeeper.events.query import EventQuery
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

pytestmark = pytest.mark.slow


def _tenant(settings: Settings, name: str) -> str:
    service = Trailkeeper.open(settings)
    try:
        return service.tenancy.create_tenant(name)["admin_token"]
    finally:
        service.close()


def _all_events(settings: Settings, name: str) -> list[dict[str, Any]]:
    service = Trailkeeper.open(settings)
    try:
        tenant = service.tenancy.tenant(name)
        return list(service.reads._chunks(tenant, EventQuery(order="asc")))
    finally:
        service.close()


def _settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    return Settings(data_dir=tmp_path / "data", database_url=url, secret_key=SESSION_SECRET_KEY)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_acknowledged_events_survive_kill_9(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = _settings(backend, tmp_path, request)
    name = f"dur-{backend}-{tmp_path.name[-6:]}"
    token = _tenant(settings, name)
    server = ServerProcess(settings.data_dir, settings.database_url, SESSION_SECRET_KEY)
    acknowledged: list[dict[str, Any]] = []
    stop = threading.Event()

    def writer() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            batch = 0
            while not stop.is_set():
                events = [make_event(batch * 100 + i) for i in range(100)]
                try:
                    response = http.post(
                        "/v1/events",
                        json={"events": events},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except httpx.TransportError:
                    return
                if response.status_code == 201:
                    acknowledged.extend(response.json()["events"])
                batch += 1

    thread = threading.Thread(target=writer)
    thread.start()
    while len(acknowledged) < 1500:
        threading.Event().wait(0.01)
    server.kill()
    stop.set()
    thread.join()

    stored = _all_events(settings, name)
    by_id = {e["id"]: e for e in stored}
    for receipt in acknowledged:
        assert receipt["id"] in by_id, f"acknowledged event {receipt['id']} lost"
        assert by_id[receipt["id"]]["seq"] == receipt["seq"]
        assert by_id[receipt["id"]]["leaf_hash"] == receipt["leaf_hash"]
    seqs = [e["seq"] for e in stored]
    assert seqs == list(range(len(stored))), "seq must stay gapless after a crash"
    produced = [e for e in stored if e["category"] != "trailkeeper"]
    assert len(produced) % 100 == 0, "a batch is stored whole or not at all"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_server_processes_never_gap_or_duplicate_seq(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = _settings(backend, tmp_path, request)
    name = f"conc-{backend}-{tmp_path.name[-6:]}"
    token = _tenant(settings, name)
    servers = [ServerProcess(settings.data_dir, settings.database_url, SESSION_SECRET_KEY)]
    try:  # the second has two API processes of its own; a failed start must not leak the first
        servers.append(
            ServerProcess(
                settings.data_dir, settings.database_url, SESSION_SECRET_KEY, ("--processes", "2")
            )
        )
    except BaseException:
        servers[0].stop()
        raise
    errors: list[str] = []

    def writer(url: str, offset: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            for batch in range(15):
                events = [
                    make_event(0, id=f"w{offset}-{batch}-{i}", actor={"id": f"w{offset}"})
                    for i in range(40)
                ]
                response = http.post(
                    "/v1/events",
                    json={"events": events},
                    headers={"Authorization": f"Bearer {token}"},
                )
                if response.status_code != 201:
                    errors.append(response.text)

    try:
        threads = [
            threading.Thread(target=writer, args=(server.url, n))
            for n, server in enumerate(servers * 2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for server in servers:
            server.stop()
    assert errors == []
    stored = _all_events(settings, name)
    produced = [e for e in stored if e["category"] != "trailkeeper"]
    assert len(produced) == 4 * 15 * 40
    assert [e["seq"] for e in stored] == list(range(len(stored)))


def test_serve_publishes_checkpoints_while_events_arrive(tmp_path: Path) -> None:
    """The background worker inside ``serve`` integrates and signs on its own."""
    settings = Settings(data_dir=tmp_path / "data", secret_key=SESSION_SECRET_KEY)
    token = _tenant(settings, "ticking")
    server = ServerProcess(
        settings.data_dir, None, SESSION_SECRET_KEY, ("--checkpoint-interval", "0.5")
    )
    auth = {"Authorization": f"Bearer {token}"}
    try:
        sizes = []
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for round_ in range(3):
                events = [make_event(round_ * 10 + i) for i in range(10)]
                assert http.post("/v1/events", json={"events": events}, headers=auth).is_success
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    latest = http.get("/v1/checkpoints/latest", headers=auth)
                    if latest.status_code == 200 and latest.json()["tree_size"] == 1 + 10 * (
                        round_ + 1
                    ):
                        sizes.append(latest.json()["tree_size"])
                        break
                    time.sleep(0.1)
        assert sizes == [11, 21, 31]
    finally:
        server.stop()
