"""A real HTTP receiver for outbound tests: a threaded ``http.server`` on
127.0.0.1 that records what it gets and answers from a script."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # hold the request open until the receiver closes (a timeout)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        received = Received(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        answer = self.server.receiver.record(received)
        if answer.hang:
            self.server.receiver.released.wait(60)
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        pass


class Receiver:
    """Answers requests with ``answers`` in turn, then with ``default``."""

    def __init__(self, *answers: Answer | int, default: Answer | int = 200) -> None:
        self._script = [a if isinstance(a, Answer) else Answer(a) for a in answers]
        self._default = default if isinstance(default, Answer) else Answer(default)
        self._lock = threading.Lock()
        self.requests: list[Received] = []
        self.released = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def record(self, received: Received) -> Answer:
        with self._lock:
            self.requests.append(received)
            return self._script.pop(0) if self._script else self._default

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
