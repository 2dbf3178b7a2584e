"""Shared fixtures: a real store on SQLite and PostgreSQL, the app over it, tenants.

PostgreSQL tests run when ``TRAILKEEPER_TEST_DATABASE_URL`` is set; then an
unreachable database is an error, never a skip. Each session gets its own fresh
database, and each test its own tenant, so tests never see each other's events."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

import profiles  # noqa: F401  (registers the quick Hypothesis profile before it is loaded)
from support import SESSION_SECRET_KEY, Api, InProcess, LiveServer, new_tenant
from trailkeeper.api import create_app
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

PG_ENV = "TRAILKEEPER_TEST_DATABASE_URL"
BACKENDS = ["sqlite", "postgresql"]


def with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path="/" + name).geturl()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set; PostgreSQL tests not run")
    name = f"tk_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(base, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(base, name)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    database_url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        read_rate_limit=100_000,
        ingest_rate_limit=100_000,
        pool_size=4,
        secret_key=SESSION_SECRET_KEY,
    )


@pytest.fixture
def service(settings: Settings) -> Iterator[Trailkeeper]:
    opened = Trailkeeper.open(settings)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def client(service: Trailkeeper) -> Iterator[httpx.Client]:
    """An HTTP client talking to the app in this process (:class:`support.InProcess`)."""
    transport = InProcess(create_app(service))
    with httpx.Client(transport=transport, base_url="http://127.0.0.1:8000", timeout=30) as http:
        yield http


@pytest.fixture
def live_client(service: Trailkeeper) -> Iterator[httpx.Client]:
    """An HTTP client talking to a real uvicorn server on loopback: for what the server
    adds (its HTTP parser, connections, client addresses)."""
    with (
        LiveServer(create_app(service)) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as http,
    ):
        yield http


@pytest.fixture
def api(service: Trailkeeper, client: httpx.Client) -> Api:
    return new_tenant(service, client)


@pytest.fixture
def other_api(service: Trailkeeper, client: httpx.Client) -> Api:
    return new_tenant(service, client)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration (real processes, servers, whole logs) and tests/ui
    (a real browser against a real server) is ``slow``: ``./scripts/test --quick``
    (``-m "not slow"``) leaves it to the full run."""
    for item in items:
        if {"integration", "ui"} & set(item.path.parent.parts[-1:]):
            item.add_marker(pytest.mark.slow)
