"""Test helpers: a tenant's view of the HTTP API, and a valid event factory."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import ipaddress
import os
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import rfc8785
import uvicorn
from starlette.types import ASGIApp

from trailkeeper.outbound.safety import IPAddress
from trailkeeper.service import Trailkeeper

# One deployment key for the whole session: PostgreSQL tests share one database,
# and trailkeeper refuses to run a database with two different keys.
SESSION_SECRET_KEY = base64.b64encode(os.urandom(32)).decode()


class LiveServer:
    """A real uvicorn server for ``app`` on a free loopback port, in a thread."""

    def __init__(self, app: ASGIApp) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class InProcess(httpx.BaseTransport):
    """``httpx.ASGITransport`` for a sync ``httpx.Client``: the app runs on its own event
    loop in a thread, as under uvicorn, without a server to start and stop per test (most
    contract tests test the app, not the HTTP server; those that test the server use
    :class:`LiveServer`). An exception in the app is a 500, as a server answers."""

    def __init__(self, app: ASGIApp) -> None:
        self._asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # a body given as an iterator becomes bytes, which async code reads

        async def answer() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return asyncio.run_coroutine_threadsafe(answer(), self._loop).result()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class Api:
    """A tenant's view of the HTTP API: a httpx.Client plus its admin token."""

    def __init__(self, client: httpx.Client, tenant: str, token: str) -> None:
        self.client = client
        self.tenant = tenant
        self.token = token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.post(
            path, json=json, headers={**self.auth, **kwargs.pop("headers", {})}, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers={**self.auth, **kwargs.pop("headers", {})}, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.put(path, json=json, headers=self.auth, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(path, headers=self.auth, **kwargs)

    def ingest(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.post("/v1/events", {"events": list(events)})
        assert response.status_code == 201, response.text
        receipts: list[dict[str, Any]] = response.json()["events"]
        return receipts

    def events(self, *, self_audit: bool = False, **params: Any) -> list[dict[str, Any]]:
        """Every event matching ``params``, following cursors to the end.

        trailkeeper's own self-audit events (category ``trailkeeper``) are left
        out unless ``self_audit`` is true, so tests see what they sent."""
        params = {"limit": 999, **params}
        found: list[dict[str, Any]] = []
        while True:
            response = self.get("/v1/events", params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            found.extend(e for e in body["data"] if self_audit or e["category"] != "trailkeeper")
            if not body["has_more"]:
                return found
            params["cursor"] = body["next_cursor"]

    def token_with(self, *scopes: str) -> str:
        response = self.post("/v1/tokens", {"name": "test", "scopes": list(scopes)})
        assert response.status_code == 201, response.text
        return str(response.json()["token"])


def new_tenant(service: Trailkeeper, client: httpx.Client) -> Api:
    name = f"t-{uuid.uuid4().hex[:10]}"
    created = service.tenancy.create_tenant(name)
    return Api(client, name, created["admin_token"])


needs_native = pytest.mark.skipif(
    importlib.util.find_spec("trailkeeper._native") is None,
    reason="trailkeeper._native is not built here (test_the_c_module_is_built says why)",
)
"""For tests that call the C module directly (it is there even with TRAILKEEPER_NATIVE=0)."""

BASE_TIME = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def make_event(index: int = 0, **fields: Any) -> dict[str, Any]:
    """A valid event; ``fields`` override or (as None) remove keys."""
    event: dict[str, Any] = {
        "id": f"evt-{index}",
        "action": "card.moved",
        "occurred_at": (BASE_TIME + timedelta(minutes=index)).isoformat().replace("+00:00", "Z"),
        "actor": {
            "id": f"u_{index % 3}",
            "name": f"User {index % 3}",
            "email": f"u{index % 3}@example.com",
        },
        "resource": {"type": "pipe", "id": "p1", "name": "HR onboarding"},
        "source": "web",
        "ip": "203.0.113.9",
        "changes": [{"field": "phase", "old": "Backlog", "new": "Approved"}],
        "metadata": {"card_id": str(index)},
    }
    for key, value in fields.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``trailkeeper serve`` as a real child process on a free loopback port."""

    def __init__(
        self,
        data_dir: Any,
        database_url: str | None = None,
        secret_key: str | None = None,
        extra_args: tuple[str, ...] = (),
        ready_timeout: float = 120,  # a loaded machine: --processes 2 took ~35 s
    ) -> None:
        import subprocess
        import sys
        from pathlib import Path

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).parent / "trailkeeper"
        args = [str(exe), "serve", "--data-dir", str(data_dir), "--port", str(self.port)]
        if database_url:
            args += ["--database-url", database_url]
        args += extra_args
        env = {
            **__import__("os").environ,
            "TRAILKEEPER_INGEST_RATE_LIMIT": "1000000",
            "TRAILKEEPER_READ_RATE_LIMIT": "1000000",
        }
        if secret_key is not None:
            env["TRAILKEEPER_SECRET_KEY"] = secret_key
        self.process = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("server did not become ready")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing."""
        self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
        if self.process.stderr is not None:
            self.process.stderr.close()


def independent_leaf_hash(event: dict[str, Any]) -> str:
    """CONTRACT section 8, written from the text, with the reference JCS package: the
    leaf hash of an event as the API returns it."""
    leaf = {
        k: v
        for k, v in event.items()
        if v is not None and k not in ("ip", "user_agent", "leaf_hash", "actor", "resource")
    }
    leaf["actor"] = {
        k: v for k, v in event["actor"].items() if v is not None and k not in ("name", "email")
    }
    if event["resource"] is not None:
        leaf["resource"] = {k: v for k, v in event["resource"].items() if v is not None}
    return hashlib.sha256(b"\x00" + rfc8785.dumps(leaf)).hexdigest()


def delete_streams(service: Trailkeeper, *apis: Api) -> None:
    """Remove the streams a test made: PostgreSQL tests share one database, and a
    later test's supervisor would otherwise deliver them (maybe to a port that a
    later receiver got)."""
    for api in apis:
        tenant = service.store.tenant_by_name(api.tenant)
        if tenant is not None:
            for record in service.store.list_streams(tenant.id):
                service.store.delete_stream(tenant.id, record.id)


def answering(*addresses: str) -> Answers:
    return Answers([ipaddress.ip_address(a) for a in addresses])


class Answers:
    """A resolver whose answers a test can change, as DNS can."""

    def __init__(self, addresses: Sequence[IPAddress]) -> None:
        self.addresses = list(addresses)
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.asked.append(host)
        return self.addresses
