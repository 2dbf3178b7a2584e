"""The HTTP protocol ``serve`` runs: uvicorn's ``httptools`` one, with two costs of each
response taken off the event loop's thread, which every request and response share
(docs/benchmarks.md, "Measured reasons in the code"):

- its access log lines are written by :class:`~trailkeeper.api.accesslog.AccessLog`
  (the same lines, without a log record each);
- a response's head and body go to the socket in one ``send``: uvicorn writes them
  separately, two system calls (and two wake-ups of the client) where one does. A write
  is held until the next one (then both are sent at once), the response completes, the
  connection closes, or at the latest the event loop's next pass; at most one is held,
  so a streamed body still goes out chunk by chunk under the socket's flow control.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from trailkeeper.api.accesslog import AccessLog

__all__ = ["TrailkeeperHttp"]


class _Joined:
    """A transport that sends a write together with the one after it."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        """Hold a first write; send it with the next one at once (at most one is held, so
        a body written in many chunks in one pass still meets the socket's flow control)."""
        pending = self._pending
        if pending is None:
            self._pending = [data]
            self._loop.call_soon(self.flush)
        else:
            pending.append(data)
            self.flush()

    def writelines(self, chunks: list[bytes]) -> None:
        for data in chunks:
            self.write(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class TrailkeeperHttp(HttpToolsProtocol):
    """uvicorn's ``httptools`` protocol with a cheaper access log and joined writes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_logger = cast("logging.Logger", AccessLog(self.access_logger))

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # flow control and addresses: the socket's own
        self.transport = cast("asyncio.Transport", _Joined(transport, self.loop))

    def on_response_complete(self) -> None:
        cast("_Joined", self.transport).flush()
        super().on_response_complete()
