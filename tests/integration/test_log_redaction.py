"""Logs hold no secrets: a real ``serve`` and a real ``worker`` run a signed download, a
search, a webhook whose URL has a query string, and two streams whose write-only secrets
are used (a Splunk token, answered 503 then accepted; an Azure client secret, refused),
and their logs are grepped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from receiver import Receiver
from support import free_port, make_event

EXE = Path(sys.executable).parent / "trailkeeper"
SEARCH = "Zelmira"
HOOK_SECRET = "hooksecretvalue4242"
HEC_SECRET = "5ec2e7a1-0000-4c0d-9e11-hecsecret4242"
AZURE_SECRET = "azure~client~secret~4242"


@contextmanager
def _process(args: list[str], log: IO[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "TRAILKEEPER_READ_RATE_LIMIT": "100000"}
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server did not become ready")


def _until(check: Any, what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _exercise(url: str, token: str, hook: Receiver) -> list[str]:
    """Everything that used to leak; returns the secrets that must not be logged."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=auth, timeout=30) as http:
        event = make_event(1, actor={"id": "u_9", "name": f"{SEARCH} Souza"})
        assert http.post("/v1/events", json=event).status_code == 201
        assert http.get("/v1/events", params={"q": SEARCH}).status_code == 200
        webhook = f"{hook.url}/hook?token={HOOK_SECRET}"
        created = http.post("/v1/exports", json={"format": "csv", "webhook_url": webhook})
        assert created.status_code == 202, created.text

        def done() -> Any:
            view = http.get(f"/v1/exports/{created.json()['id']}").json()
            return view if view["status"] in ("succeeded", "failed") else None

        view = _until(done, "the export")
        assert view["status"] == "succeeded", view
        signature = httpx.URL(view["download_url"]).params["signature"]
        assert httpx.get(view["download_url"]).status_code == 200
        assert httpx.get(view["manifest_url"]).status_code == 200
    _until(lambda: hook.requests, "the webhook")
    return [SEARCH, HOOK_SECRET, signature]


def _streams(url: str, token: str, siem: Receiver, entra: Receiver) -> list[str]:
    """Streams that use their secrets, with a retry and a failure logged; the secrets."""
    auth = {"Authorization": f"Bearer {token}"}
    splunk = {"url": siem.url, "token": HEC_SECRET}
    azure = {
        "endpoint": entra.url, "dcr_immutable_id": "dcr-" + "0" * 32, "stream_name": "Custom-A",
        "tenant_id": "t", "client_id": "c", "client_secret": AZURE_SECRET,
        "authority_url": entra.url,
    }  # fmt: skip
    with httpx.Client(base_url=url, headers=auth, timeout=30) as http:
        for kind, config in (("splunk_hec", splunk), ("azure_monitor", azure)):
            body = {"name": kind, "type": kind, "config": config, "start": "beginning"}
            created = http.post("/v1/streams", json=body)
            assert created.status_code == 201, created.text
        _until(lambda: len(siem.requests) >= 2, "the Splunk stream's retry")
        _until(lambda: entra.requests, "the Azure stream's token request")

        def failing() -> bool:
            views = http.get("/v1/streams").json()["data"]
            return any(v["status"] == "failing" for v in views)

        _until(failing, "the Azure stream to be failing")
    assert siem.requests[1].headers["authorization"] == f"Splunk {HEC_SECRET}"
    assert AZURE_SECRET in entra.requests[0].body.decode().replace("%7E", "~")
    return [HEC_SECRET, AZURE_SECRET]


@pytest.mark.slow
def test_serve_and_worker_logs_hold_no_signatures_queries_or_search_terms(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    created = subprocess.run(
        [str(EXE), "tenants", "create", "acme", "--data-dir", str(data)],
        check=True,
        capture_output=True,
    )
    token = json.loads(created.stdout)["admin_token"]
    port = free_port()
    common = ["--data-dir", str(data), "--allow-private-destinations"]
    serve_log, worker_log = tmp_path / "serve.log", tmp_path / "worker.log"
    with (
        Receiver() as hook,
        Receiver(503) as siem,
        Receiver(default=401) as entra,
        serve_log.open("wb") as serve_out,
        worker_log.open("wb") as worker_out,
        _process([str(EXE), "serve", "--port", str(port), "--no-workers", *common], serve_out),
        # a standalone worker must be told the public URL to put links in webhooks
        _process(
            [str(EXE), "worker", "--public-url", f"http://127.0.0.1:{port}", *common], worker_out
        ),
    ):
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url)
        secrets = _exercise(url, token, hook) + _streams(url, token, siem, entra)
    logs = {"serve": serve_log.read_text(), "worker": worker_log.read_text()}
    for name, text in logs.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} in the {name} log:\n{text}"
    # The lines were written, redacted: the access log and httpx's request log.
    assert "GET /v1/events?q=[redacted]" in logs["serve"]
    assert "signature=[redacted]" in logs["serve"]
    assert f"{hook.url}/hook?[redacted]" in logs["worker"]
    assert "Splunk HEC answered HTTP 503; next attempt in" in logs["worker"]
