"""Real SIEM receivers for stream tests: threaded HTTP servers on 127.0.0.1 that
speak each product's ingestion protocol and answer as it does (reply codes and
bodies, per-item bulk errors, throttling with Retry-After, payload limits), and
can be taken down and brought back on the same port (an outage).

Each receiver keeps the events it accepted, in arrival order, so tests count them.
``script`` holds answers to give before behaving normally (e.g. two 503s)."""

from __future__ import annotations

import gzip
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    status: int = 0  # what the receiver answered

    def raw_body(self) -> bytes:
        """The body as sent before ``Content-Encoding: gzip``."""
        if self.headers.get("content-encoding") == "gzip":
            return gzip.decompress(self.body)
        return self.body

    def json_body(self) -> Any:
        return json.loads(self.raw_body())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: HttpReceiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        request = Request(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        status, headers, payload = self.server.owner.dispatch(request)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(data).encode(),
    )


@dataclass
class HttpReceiver:
    """A receiver: ``handle`` answers a request the product's way; ``script``
    answers come first (a Reply, or a callable making one)."""

    handle: Callable[[Request], Reply]
    script: list[Reply] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def dispatch(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            reply = self.script.pop(0) if self.script else None
        reply = reply or self.handle(request)
        request.status = reply[0]
        return reply

    def accept(self, events: list[Any]) -> None:
        with self._lock:
            self.events.extend(events)

    def start(self) -> HttpReceiver:
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.owner = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port: connections are refused until ``start`` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 60) -> list[Any]:
        """The accepted events once there are at least ``count`` (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.events) >= count:
                    return list(self.events)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.events)} events arrived, expected {count}")


# -- Splunk HEC ------------------------------------------------------------------------
HEC_TOKEN = "11111111-2222-3333-4444-555555555555"


def splunk_hec(token: str = HEC_TOKEN, indexes: frozenset[str] | None = None) -> HttpReceiver:
    """``/services/collector/event``: concatenated envelopes, ``Splunk <token>``;
    an envelope's ``index`` must be one of the token's ``indexes`` (code 7)."""

    def handle(request: Request) -> Reply:
        if request.path.split("?")[0] not in ("/services/collector/event", "/services/collector"):
            return _json(
                404, {"text": "The requested URL was not found on this server.", "code": 404}
            )
        auth = request.headers.get("authorization")
        if auth is None:
            return _json(401, {"text": "Token is required", "code": 2})
        if not auth.startswith("Splunk "):
            return _json(401, {"text": "Invalid authorization", "code": 3})
        if auth[len("Splunk ") :] != receiver.token:  # type: ignore[attr-defined]
            return _json(403, {"text": "Invalid token", "code": 4})
        text = request.body.decode()
        if not text.strip():
            return _json(400, {"text": "No data", "code": 5})
        decoder = json.JSONDecoder()
        envelopes, at = [], 0
        while at < len(text):
            while at < len(text) and text[at] in " \r\n\t":
                at += 1
            if at >= len(text):
                break
            try:
                envelope, at = decoder.raw_decode(text, at)
            except ValueError:
                return _json(
                    400,
                    {
                        "text": "Invalid data format",
                        "code": 6,
                        "invalid-event-number": len(envelopes),
                    },
                )
            if "event" not in envelope:
                return _json(
                    400,
                    {
                        "text": "Event field is required",
                        "code": 12,
                        "invalid-event-number": len(envelopes),
                    },
                )
            if indexes is not None and envelope.get("index", "main") not in indexes:
                return _json(
                    400,
                    {"text": "Incorrect index", "code": 7, "invalid-event-number": len(envelopes)},
                )
            envelopes.append(envelope)
        receiver.accept(envelopes)
        return _json(200, {"text": "Success", "code": 0})

    receiver = HttpReceiver(handle)
    receiver.token = token  # type: ignore[attr-defined]
    return receiver


HEC_BUSY = _json(503, {"text": "Server is busy", "code": 9})
HEC_DISABLED = _json(403, {"text": "Token disabled", "code": 1})


def throttled(seconds: int) -> Reply:
    return _json(429, {"text": "Too many requests", "code": 9}, {"Retry-After": str(seconds)})


def too_large() -> Reply:
    return _json(413, {"text": "Content-Length of request exceeds max_content_length", "code": 413})


# -- Datadog ---------------------------------------------------------------------------
DD_KEY = "0123456789abcdef0123456789abcdef"
DD_MAX_BYTES = 5 * 1000 * 1000  # uncompressed


def datadog(api_key: str = DD_KEY, max_items: int = 1000) -> HttpReceiver:
    """``/api/v2/logs``: a JSON array, maybe gzip'd; 202 ``{}``; 413 over 1,000 logs or
    5 MB before compression."""

    def handle(request: Request) -> Reply:
        if request.path.split("?")[0] != "/api/v2/logs":
            return _json(404, {"errors": ["Not found"]})
        if "dd-api-key" not in request.headers:
            return _json(401, {"errors": ["Unauthorized"]})
        if request.headers["dd-api-key"] != api_key:
            return _json(403, {"errors": ["Forbidden"]})
        if len(request.raw_body()) > DD_MAX_BYTES:
            return _json(413, {"errors": ["Payload too large"]})
        try:
            logs = request.json_body()
        except ValueError:
            return _json(400, {"errors": ["Bad Request"]})
        logs = logs if isinstance(logs, list) else [logs]
        if len(logs) > max_items:
            return _json(413, {"errors": ["Payload too large"]})
        receiver.accept(logs)
        return _json(202, {})

    receiver = HttpReceiver(handle)
    return receiver


# -- Elasticsearch ---------------------------------------------------------------------
ES_KEY = "ZXNrZXk6c2VjcmV0"


def elasticsearch(api_key: str = ES_KEY) -> HttpReceiver:
    """``/_bulk`` with ``create``: per-item 201, or 409 for an ``_id`` already
    stored; ``reject`` holds ids to refuse once with a per-item 429, ``bad`` ids
    refused with a mapping error every time."""
    stored: dict[str, Any] = {}

    def handle(request: Request) -> Reply:
        if request.headers.get("authorization") != f"ApiKey {api_key}":
            return _json(
                401,
                {
                    "error": {"type": "security_exception", "reason": "unable to authenticate"},
                    "status": 401,
                },
            )
        lines = request.body.decode().split("\n")
        if lines[-1] != "":
            return _json(
                400,
                {
                    "error": {
                        "type": "illegal_argument_exception",
                        "reason": "The bulk request must be terminated by a newline [\\n]",
                    },
                    "status": 400,
                },
            )
        items, errors = [], False
        for action_line, source_line in zip(lines[0:-1:2], lines[1:-1:2], strict=True):
            meta = json.loads(action_line)["create"]
            doc_id = meta["_id"]
            if doc_id in receiver_state["bad"]:
                items.append(
                    {
                        "create": {
                            "_index": meta["_index"],
                            "_id": doc_id,
                            "status": 400,
                            "error": {
                                "type": "document_parsing_exception",
                                "reason": "failed to parse field [metadata]",
                            },
                        }
                    }
                )
                errors = True
            elif doc_id in receiver_state["reject"]:
                receiver_state["reject"].discard(doc_id)
                items.append(
                    {
                        "create": {
                            "_index": meta["_index"],
                            "_id": doc_id,
                            "status": 429,
                            "error": {
                                "type": "es_rejected_execution_exception",
                                "reason": "rejected execution",
                            },
                        }
                    }
                )
                errors = True
            elif doc_id in stored:
                items.append(
                    {
                        "create": {
                            "_index": meta["_index"],
                            "_id": doc_id,
                            "status": 409,
                            "error": {
                                "type": "version_conflict_engine_exception",
                                "reason": f"[{doc_id}]: version conflict, document already exists",
                            },
                        }
                    }
                )
                errors = True
            else:
                stored[doc_id] = json.loads(source_line)
                receiver.accept([stored[doc_id]])
                items.append(
                    {
                        "create": {
                            "_index": meta["_index"],
                            "_id": doc_id,
                            "status": 201,
                            "result": "created",
                        }
                    }
                )
        return _json(200, {"took": 1, "errors": errors, "items": items})

    receiver_state: dict[str, set[str]] = {"reject": set(), "bad": set()}
    receiver = HttpReceiver(handle)
    receiver.state = receiver_state  # type: ignore[attr-defined]
    return receiver


# -- Azure Monitor (Entra ID token + Logs Ingestion) --------------------------------------
AZ_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
AZ_CLIENT = "00000000-1111-2222-3333-444444444444"
AZ_SECRET = "client~secret"
DCR = "dcr-0123456789abcdef0123456789abcdef"
AZ_SCOPE = "https://monitor.azure.com//.default"
AZ_MAX_BYTES = 1_000_000  # per call, compressed or not


def azure_config(receiver: HttpReceiver, secret: str = AZ_SECRET) -> dict[str, str]:
    """A stream config for the receiver, which is both the authority and the endpoint."""
    return {
        "endpoint": receiver.url, "dcr_immutable_id": DCR, "stream_name": "Custom-Audit_CL",
        "tenant_id": AZ_TENANT, "client_id": AZ_CLIENT, "client_secret": secret,
        "authority_url": receiver.url,
    }  # fmt: skip


def azure(lifetime: int = 3600) -> HttpReceiver:
    """Both ends on one port: ``/<tenant>/oauth2/v2.0/token`` (client credentials)
    and ``/dataCollectionRules/<dcr>/streams/<stream>`` (204; 401 on an unknown or
    expired token, 413 over 1 MB compressed or not)."""
    issued: dict[str, float] = {}

    def handle(request: Request) -> Reply:
        path = request.path.split("?")[0]
        if path == f"/{AZ_TENANT}/oauth2/v2.0/token":
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            if form.get("client_secret") != AZ_SECRET or form.get("scope") != AZ_SCOPE:
                return _json(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.",
                    },
                )
            token = uuid.uuid4().hex
            issued[token] = time.monotonic() + lifetime
            return _json(
                200, {"token_type": "Bearer", "expires_in": lifetime, "access_token": token}
            )
        if (
            path.startswith(f"/dataCollectionRules/{DCR}/streams/")
            and "api-version=2023-01-01" in request.path
        ):
            token = (request.headers.get("authorization") or "").removeprefix("Bearer ")
            if issued.get(token, 0) < time.monotonic():
                return _json(
                    401,
                    {
                        "error": {
                            "code": "InvalidToken",
                            "message": "The access token is invalid or expired.",
                        }
                    },
                )
            if max(len(request.body), len(request.raw_body())) > AZ_MAX_BYTES:
                return _json(
                    413,
                    {
                        "error": {
                            "code": "ContentLengthLimitExceeded",
                            "message": "Maximum request body size is 1MB",
                        }
                    },
                )
            receiver.accept(request.json_body())
            return 204, {}, b""
        return _json(404, {"error": {"code": "NotFound", "message": "not found"}})

    receiver = HttpReceiver(handle)
    receiver.issued = issued  # type: ignore[attr-defined]
    return receiver


# -- Webhook ---------------------------------------------------------------------------
def webhook_receiver(verify: Callable[[bytes, dict[str, str]], Any]) -> HttpReceiver:
    """Verifies each delivery as a customer would (``verify`` raises when the
    signature is wrong) and keeps the events of each verified one."""

    def handle(request: Request) -> Reply:
        try:
            message = verify(request.body, request.headers)
        except Exception:
            return 401, {}, b""
        receiver.accept(message["data"]["events"])
        return 204, {}, b""

    receiver = HttpReceiver(handle)
    return receiver
