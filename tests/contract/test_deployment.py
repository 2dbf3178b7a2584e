"""Setup problems are refused clearly: a second deployment key, an unreachable database."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from support import LiveServer
from trailkeeper.api import create_app
from trailkeeper.deployment_key import (
    DeploymentKeyError,
    DeploymentKeyMismatch,
    load_deployment_key,
)
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.signing import load_signer
from trailkeeper.storage.postgres import PostgresStore


def test_a_second_deployment_key_is_refused(settings: Settings) -> None:
    Trailkeeper.open(settings).close()
    other_key = SecretStr(base64.b64encode(os.urandom(32)).decode())
    other = settings.model_copy(update={"secret_key": other_key})
    with pytest.raises(DeploymentKeyMismatch, match="TRAILKEEPER_SECRET_KEY"):
        Trailkeeper.open(other)
    Trailkeeper.open(settings).close()


@pytest.mark.parametrize("key", ["not base64!!", base64.b64encode(b"short").decode()])
def test_malformed_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(DeploymentKeyError):
        Trailkeeper.open(Settings(data_dir=tmp_path, secret_key=key))


def test_key_file_is_private_and_stable(tmp_path: Path) -> None:
    Trailkeeper.open(Settings(data_dir=tmp_path)).close()
    key_file = tmp_path / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    before = key_file.read_bytes()
    Trailkeeper.open(Settings(data_dir=tmp_path)).close()
    assert key_file.read_bytes() == before


def test_unreachable_database_is_503_not_500(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://postgres@127.0.0.1:1/x")
    store = PostgresStore(settings.database_url or "", pool_size=1, timeout=0.5)
    service = Trailkeeper(settings, store, load_deployment_key(settings), load_signer(settings))
    try:
        with LiveServer(create_app(service)) as url:
            ready = httpx.get(f"{url}/readyz", timeout=10)
            assert ready.status_code == 503
            listed = httpx.get(
                f"{url}/v1/events", headers={"Authorization": "Bearer tk_" + "a" * 43}
            )
            assert listed.status_code == 503
            assert listed.json()["error"]["code"] == "unavailable"
            assert listed.headers["retry-after"] == "5"
    finally:
        store.close()
