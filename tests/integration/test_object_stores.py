"""Object stores for exported files: keys, the local store behind its signed
download route (over real HTTP), and S3 through a real moto server."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from support import LiveServer
from trailkeeper.api.errors import install_error_handlers
from trailkeeper.api.routes import downloads
from trailkeeper.deployment_key import DeploymentKey
from trailkeeper.objectstores import (
    InvalidObjectKey,
    LocalObjectStore,
    ObjectStore,
    check_key,
    object_key,
    open_object_store,
)
from trailkeeper.objectstores.keys import MAX_SEGMENT
from trailkeeper.objectstores.links import PURPOSE, LinkSigner
from trailkeeper.objectstores.s3 import S3ObjectStore
from trailkeeper.settings import Settings

pytest_plugins = ["moto_s3"]

MiB = 1024 * 1024
START, END = date(2026, 10, 1), date(2026, 10, 30)
PIPE = {"type": "pipe", "id": "p_123"}
KEY = "acme/pipe/p_123/2026-10-01_2026-10-30/exp_01J.jsonl.gz"


def random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes in 1 MiB pieces; return their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for offset in range(0, size, MiB):
            piece = os.urandom(min(MiB, size - offset))
            digest.update(piece)
            out.write(piece)
    return digest.hexdigest()


def download_sha256(url: str) -> tuple[httpx.Response, str]:
    """GET ``url`` streaming (no bearer token); the response and the body's hash."""
    digest = hashlib.sha256()
    with httpx.stream("GET", url, timeout=60) as response:
        for chunk in response.iter_bytes():
            digest.update(chunk)
    return response, digest.hexdigest()


# keys ---------------------------------------------------------------------------------
def test_object_key_layout() -> None:
    assert object_key("acme", PIPE, START, END, "exp_01J", "jsonl.gz") == KEY
    assert (
        object_key("acme", None, START, END, "exp_01J", ".csv")
        == "acme/_all/2026-10-01_2026-10-30/exp_01J.csv"
    )


def test_object_key_neutralizes_hostile_names() -> None:
    key = object_key("../..", {"type": "a/b", "id": ".."}, START, END, "exp_1", "csv")
    assert key == "%2E.%2F../a%2Fb/%2E./2026-10-01_2026-10-30/exp_1.csv"
    # "_all" as a tenant or resource can never pose as a whole-tenant export
    assert object_key("_all", {"type": "_all", "id": "x"}, START, END, "e", "csv").startswith(
        "%5Fall/%5Fall/x/"
    )


@given(tenant=st.text(min_size=1, max_size=10), kind=st.text(min_size=1, max_size=10))
def test_object_key_is_always_five_safe_reversible_parts(tenant: str, kind: str) -> None:
    """Up to 10 characters (120 escaped bytes at most) nothing is cut, so it decodes back."""
    key = object_key(tenant, {"type": kind, "id": "x"}, START, END, "exp_1", "csv")
    parts = key.split("/")
    assert len(parts) == 5
    assert check_key(key) == key
    assert [unquote(p) for p in parts[:2]] == [tenant, kind]


def test_long_names_are_cut_and_hashed_apart() -> None:
    base = "é" * 200
    one = object_key("acme", {"type": "pipe", "id": base + "1"}, START, END, "e", "csv")
    two = object_key("acme", {"type": "pipe", "id": base + "2"}, START, END, "e", "csv")
    assert one != two
    assert all(len(part) <= MAX_SEGMENT for part in one.split("/"))
    assert "~" in one.split("/")[2]


@pytest.mark.parametrize(
    ("export_id", "extension"), [("../x", "csv"), ("e", "csv/../x"), ("", "csv")]
)
def test_object_key_refuses_bad_ids_and_extensions(export_id: str, extension: str) -> None:
    with pytest.raises(InvalidObjectKey):
        object_key("acme", None, START, END, export_id, extension)


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "a/../b", "..", "a//b", "a/", "a/.hidden", "a\\b", "a\x00b", "x" * 901],
)
def test_check_key_refuses_escapes(key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        check_key(key)


# the local store and its download route ----------------------------------------------------
@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def deployment_key() -> DeploymentKey:
    return DeploymentKey(os.urandom(32))


@pytest.fixture
def local(data_dir: Path, deployment_key: DeploymentKey) -> LocalObjectStore:
    store = open_object_store(Settings(data_dir=data_dir), deployment_key)
    assert isinstance(store, LocalObjectStore)
    return store


def downloads_app(objects: ObjectStore) -> FastAPI:
    """The download route as the real app mounts it, with the contract's error envelope."""
    app = FastAPI()
    app.state.trailkeeper = SimpleNamespace(objects=objects, settings=Settings())
    install_error_handlers(app)
    app.include_router(downloads.router)
    return app


@pytest.fixture
def base_url(local: LocalObjectStore) -> Iterator[str]:
    with LiveServer(downloads_app(local)) as url:
        yield url


def assert_error(response: httpx.Response, status: int, code: str, words: str) -> None:
    """The contract's error envelope, with a message that says what went wrong."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert words in error["message"]
    assert isinstance(error["details"], list)


def test_local_round_trip_over_http(
    local: LocalObjectStore, data_dir: Path, tmp_path: Path, base_url: str
) -> None:
    source = tmp_path / "export.part"
    expected = random_file(source, 3 * MiB + 17)
    local.put_file(KEY, source, "application/gzip")

    assert not source.exists()  # renamed into place, not copied
    stored = data_dir / "exports" / KEY
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert local.exists(KEY)
    url, expires_at = local.download_url(KEY, base_url + "/")
    assert url.startswith(f"{base_url}/v1/downloads/{KEY}?expires=")
    assert timedelta(seconds=3590) < expires_at - datetime.now(UTC) <= timedelta(seconds=3600)

    response, received = download_sha256(url)
    assert response.status_code == 200
    assert received == expected
    assert response.headers["content-type"] == "application/gzip"
    assert response.headers["content-disposition"] == 'attachment; filename="exp_01J.jsonl.gz"'
    assert response.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("exp_1.jsonl", "application/x-ndjson"),
        ("exp_1.csv", "text/csv; charset=utf-8"),
        ("exp_1.parquet", "application/vnd.apache.parquet"),
        ("exp_1.csv.gz.manifest.json", "application/json"),
    ],
)
def test_download_content_types(
    local: LocalObjectStore, base_url: str, name: str, media_type: str
) -> None:
    key = f"acme/_all/2026-10-01_2026-10-30/{name}"
    local.put_bytes(key, b"content of " + name.encode(), "ignored/by-local-store")
    response = httpx.get(local.download_url(key, base_url)[0])
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.content == b"content of " + name.encode()


def test_download_resumes_with_range(local: LocalObjectStore, base_url: str) -> None:
    local.put_bytes(KEY, b"0123456789abcdef", "application/gzip")
    url = local.download_url(KEY, base_url)[0]
    response = httpx.get(url, headers={"Range": "bytes=10-"})
    assert response.status_code == 206
    assert response.content == b"abcdef"


def test_put_bytes_replaces_and_leaves_no_temporary_files(
    local: LocalObjectStore, data_dir: Path
) -> None:
    local.put_bytes(KEY, b"first", "application/gzip")
    local.put_bytes(KEY, b"second", "application/gzip")
    folder = (data_dir / "exports" / KEY).parent
    assert [p.name for p in folder.iterdir()] == ["exp_01J.jsonl.gz"]
    assert (folder / "exp_01J.jsonl.gz").read_bytes() == b"second"


def test_put_file_from_another_file_system_is_copied(local: LocalObjectStore) -> None:
    shm = Path("/dev/shm")
    local.root.mkdir(parents=True)
    if not shm.is_dir() or shm.stat().st_dev == local.root.stat().st_dev:
        pytest.skip("needs /dev/shm on another file system than the data dir")
    with tempfile.NamedTemporaryFile(dir=shm, delete=False) as handle:
        handle.write(b"across devices")
    local.put_file(KEY, Path(handle.name), "application/gzip")
    Path(handle.name).unlink()  # the caller's copy; the store's stays
    assert (local.root / KEY).read_bytes() == b"across devices"


def test_altered_links_are_forbidden(local: LocalObjectStore, base_url: str) -> None:
    local.put_bytes(KEY, b"secret export", "application/gzip")
    other = KEY.replace("exp_01J", "exp_02K")
    local.put_bytes(other, b"another export", "application/gzip")
    url = local.download_url(KEY, base_url)[0]
    query = parse_qs(urlsplit(url).query)
    expires, signature = int(query["expires"][0]), query["signature"][0]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    altered = [
        f"{base_url}/v1/downloads/{KEY}?expires={expires}&signature={flipped}",
        f"{base_url}/v1/downloads/{KEY}?expires={expires + 86400}&signature={signature}",
        f"{base_url}/v1/downloads/{other}?expires={expires}&signature={signature}",
        f"{base_url}/v1/downloads/{KEY}?expires={expires}&signature={signature[:32]}",
        f"{base_url}/v1/downloads/{KEY}?expires={expires}&signature=%C3%A9",
    ]
    for link in altered:
        assert_error(httpx.get(link), 403, "forbidden", "signature does not match")
    assert httpx.get(url).content == b"secret export"


def test_expired_link_is_forbidden(
    local: LocalObjectStore, deployment_key: DeploymentKey, base_url: str
) -> None:
    local.put_bytes(KEY, b"old export", "application/gzip")
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    past = LocalObjectStore(
        local.root, deployment_key.derive(PURPOSE), 3600, clock=lambda: two_hours_ago
    )
    url, expires_at = past.download_url(KEY, base_url)
    assert expires_at < datetime.now(UTC)
    assert_error(httpx.get(url), 403, "forbidden", "expired at")


def test_missing_or_malformed_parameters_are_client_errors(base_url: str) -> None:
    assert_error(httpx.get(f"{base_url}/v1/downloads/{KEY}"), 400, "invalid_request", "expires")
    response = httpx.get(f"{base_url}/v1/downloads/{KEY}?expires=soon&signature=ab")
    assert_error(response, 400, "invalid_request", "expires")


def test_traversal_is_refused_even_when_signed(
    local: LocalObjectStore, data_dir: Path, deployment_key: DeploymentKey, base_url: str
) -> None:
    data_dir.mkdir()
    (data_dir / "secret.key").write_text("not for download")
    signer = LinkSigner(deployment_key.derive(PURPOSE))
    expires = int(datetime.now(UTC).timestamp()) + 600
    for key in ("../secret.key", "acme/../../secret.key", ".hidden"):
        signature = signer.signature(key, expires)
        encoded = key.replace("/", "%2F").replace(".", "%2E")
        link = f"{base_url}/v1/downloads/{encoded}?expires={expires}&signature={signature}"
        response = httpx.get(link)
        assert_error(response, 403, "forbidden", "not valid")
        assert b"not for download" not in response.content
    with pytest.raises(InvalidObjectKey):
        local.put_bytes("../secret.key", b"overwritten", "text/plain")
    with pytest.raises(InvalidObjectKey):
        local.download_url("acme/../../secret.key", base_url)
    assert (data_dir / "secret.key").read_text() == "not for download"


def test_symlink_out_of_the_exports_dir_is_refused(local: LocalObjectStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.csv").write_text("outside")
    local.root.mkdir(parents=True)
    (local.root / "acme").symlink_to(outside)
    with pytest.raises(InvalidObjectKey):
        local.exists("acme/f.csv")
    with pytest.raises(InvalidObjectKey):
        local.put_bytes("acme/g.csv", b"x", "text/csv")
    assert not (outside / "g.csv").exists()


def test_deleted_file_is_not_found(local: LocalObjectStore, base_url: str) -> None:
    local.put_bytes(KEY, b"soon gone", "application/gzip")
    url = local.download_url(KEY, base_url)[0]
    local.delete(KEY)
    local.delete(KEY)  # already gone: no error
    assert not local.exists(KEY)
    assert_error(httpx.get(url), 404, "not_found", "no longer exists")


# S3 through moto -----------------------------------------------------------------------
def test_open_object_store_picks_s3(aws_env: str, s3_bucket: str, s3_client: Any) -> None:
    settings = Settings(object_store=f"s3://{s3_bucket}/audit/trail/", download_url_ttl=900)
    store = open_object_store(settings, DeploymentKey(os.urandom(32)))
    assert isinstance(store, S3ObjectStore)
    assert (store.bucket, store.prefix, store.ttl) == (s3_bucket, "audit/trail", 900)
    store.put_bytes(KEY, b"{}", "application/json")
    listed = s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"audit/trail/{KEY}"]


def test_s3_multipart_upload_and_presigned_download(
    aws_env: str, s3_bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    five_mib_parts = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    store = S3ObjectStore(s3_bucket, "exports", ttl=600, transfer_config=five_mib_parts)
    source = tmp_path / "export.part"
    expected = random_file(source, 20 * MiB)

    store.put_file(KEY, source, "application/gzip")

    head = s3_client.head_object(Bucket=s3_bucket, Key=f"exports/{KEY}")
    assert head["ETag"].strip('"').endswith("-4")  # really uploaded as 4 parts
    assert head["ContentType"] == "application/gzip"
    assert head["ContentLength"] == 20 * MiB
    url, _ = store.download_url(KEY, "http://ignored.example")
    assert url.startswith(f"{aws_env}/{s3_bucket}/exports/{KEY}?")  # path-style addressing
    response, received = download_sha256(url)
    assert response.status_code == 200
    assert received == expected
    assert response.headers["content-disposition"] == 'attachment; filename="exp_01J.jsonl.gz"'


def test_s3_presigned_url_expires_after_the_ttl(aws_env: str, s3_bucket: str) -> None:
    """moto does not enforce presigned expiry, so this checks what S3 enforces:
    the signed X-Amz-Date and X-Amz-Expires, against the expiry reported."""
    store = S3ObjectStore(s3_bucket, ttl=900)
    store.put_bytes(KEY, b"x", "application/gzip")
    before = datetime.now(UTC).replace(microsecond=0)
    url, expires_at = store.download_url(KEY, "")
    after = datetime.now(UTC)
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["900"]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= signed_at <= after
    assert before + timedelta(seconds=900) == expires_at <= signed_at + timedelta(seconds=900)


def test_s3_prefix_exists_and_delete(aws_env: str, s3_bucket: str, s3_client: Any) -> None:
    prefixed = S3ObjectStore.from_url(f"s3://{s3_bucket}/a/b", ttl=600)
    bare = S3ObjectStore.from_url(f"s3://{s3_bucket}", ttl=600)
    prefixed.put_bytes(KEY, b"manifest", "application/json")
    assert prefixed.exists(KEY)
    assert not bare.exists(KEY)
    assert bare.exists(f"a/b/{KEY}")
    body = s3_client.get_object(Bucket=s3_bucket, Key=f"a/b/{KEY}")
    assert body["Body"].read() == b"manifest"
    assert body["ContentType"] == "application/json"
    prefixed.delete(KEY)
    prefixed.delete(KEY)
    assert not prefixed.exists(KEY)


def test_s3_refuses_escaping_keys(aws_env: str, s3_bucket: str, s3_client: Any) -> None:
    store = S3ObjectStore(s3_bucket, "tenant-a", ttl=600)
    for key in ("../tenant-b/x", "/x", "a/./b"):
        with pytest.raises(InvalidObjectKey):
            store.put_bytes(key, b"x", "text/plain")
    assert s3_client.list_objects_v2(Bucket=s3_bucket)["KeyCount"] == 0


def test_download_route_has_nothing_to_serve_with_s3(aws_env: str, s3_bucket: str) -> None:
    store = S3ObjectStore(s3_bucket, ttl=600)
    with LiveServer(downloads_app(store)) as url:
        response = httpx.get(f"{url}/v1/downloads/{KEY}?expires=1&signature=ab")
    assert_error(response, 404, "not_found", "S3")
