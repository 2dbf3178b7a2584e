"""A real S3 endpoint for tests: moto's standalone server, spoken to over HTTP.

Use it from a test module with ``from moto_s3 import aws_env, moto_server,
s3_bucket`` (or register it once with ``pytest_plugins = ["moto_s3"]`` in the
root conftest). The server runs once per session; each test gets the usual
``AWS_*`` variables pointing at it and, with ``s3_bucket``, a fresh bucket. A
server that cannot start fails the test: S3 tests are never skipped."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from support import free_port

__all__ = ["aws_env", "moto_server", "s3_bucket", "s3_client"]

START_SECONDS = 30
ACCESS_KEY = "AKIATRAILKEEPERTEST"
SECRET_KEY = "trailkeeper-test-secret"  # moto accepts any credentials
REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``python -m moto.server`` on a free loopback port; yield its URL.

    The URL uses the name ``localhost`` (not an IP address), so boto3 would use
    virtual-hosted addressing unless trailkeeper asks for path style."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto_server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(process, f"http://127.0.0.1:{port}/", log_path)
        yield f"http://localhost:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"moto_server exited at start:\n{log_path.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"moto_server did not answer in {START_SECONDS} s:\n{log_path.read_text()}")
        time.sleep(0.05)


@pytest.fixture
def aws_env(moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The standard AWS variables, pointing at moto and nothing else (no
    profile, config file or instance metadata from the machine leaks in)."""
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return moto_server


@pytest.fixture
def s3_client(aws_env: str) -> Any:
    """A plain boto3 client on moto, for checking what the code under test did."""
    path_style = Config(s3={"addressing_style": "path"})
    return boto3.session.Session().client("s3", config=path_style)


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """A new, empty bucket for one test."""
    name = f"tk-test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name
