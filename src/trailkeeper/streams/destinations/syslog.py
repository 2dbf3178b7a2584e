"""Syslog streams: RFC 5424 messages framed by octet counting (RFC 6587 section
3.4.1, the framing RFC 5425 requires over TLS), over one TCP or TLS connection
kept open between batches.

Each message is ``<110>1 TIMESTAMP HOST trailkeeper - ACTION [trailkeeper@32473
id=… seq=… stream=…] MSG``: facility 13 (log audit), severity 6; the MSG is the
event as JSON after a UTF-8 BOM, or a CEF line. TCP syslog has no acknowledgement:
a batch counts as accepted once the kernel took it and the receiver has not closed
the connection; a closed connection is found before the next batch and the batch
is sent again on a new one (at least once). 32473 is the enterprise number RFC
5612 reserves for documentation: the SD-ID only has to be unique to trailkeeper."""

from __future__ import annotations

import re
import select
import socket
import ssl

from trailkeeper.outbound.safety import DestinationRefused, check_addresses, resolve_host
from trailkeeper.streams.config import SyslogConfig
from trailkeeper.streams.destinations.base import ACCEPTED, Batch, Outcome
from trailkeeper.streams.formats import Item

__all__ = ["SyslogStream", "frame", "rfc5424"]

PRI = 13 * 8 + 6  # log audit, informational
SD_ID = "trailkeeper@32473"
BOM = b"\xef\xbb\xbf"
MiB = 1024 * 1024
_NOT_PRINTABLE = re.compile(r"[^\x21-\x7e]")


class UnusableCaFile(Exception):
    """The stream's ``ca_file`` is missing or not a CA bundle."""


def _sd_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _token(text: str, limit: int) -> str:
    """A header field: printable US-ASCII, no spaces, within its length, or ``-``."""
    cleaned = _NOT_PRINTABLE.sub("_", text)[:limit]
    return cleaned or "-"


def rfc5424(item: Item, stream_id: str, hostname: str) -> bytes:
    message = item.encoded if isinstance(item.body, str) else BOM + item.encoded
    structured = (
        f'[{SD_ID} id="{_sd_value(item.id)}" seq="{item.seq}" stream="{_sd_value(stream_id)}"]'
    )
    header = (
        f"<{PRI}>1 {item.occurred_at} {_token(hostname, 255)} trailkeeper - "
        f"{_token(item.action, 32)} {structured} "
    )
    return header.encode() + message


def frame(message: bytes) -> bytes:
    return b"%d %b" % (len(message), message)


class SyslogStream:
    max_events = 1000
    max_bytes = MiB

    def __init__(
        self, config: SyslogConfig, stream_id: str, *, timeout: float, allow_private: bool
    ) -> None:
        self._config = config
        self._stream_id = stream_id
        self._timeout = timeout
        self._allow_private = allow_private
        self._hostname = socket.gethostname()
        self._sock: socket.socket | None = None

    @property
    def _what(self) -> str:
        return f"syslog receiver {self._config.host}:{self._config.port}"

    def encode(self, item: Item) -> bytes:
        return frame(rfc5424(item, self._stream_id, self._hostname))

    def _connect(self) -> socket.socket:
        host, port = self._config.host, self._config.port
        addresses = resolve_host(host, port)
        check_addresses(host, addresses, allow_private=self._allow_private)
        context = self._tls_context() if self._config.protocol == "tls" else None
        sock = socket.create_connection((str(addresses[0]), port), timeout=self._timeout)
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname=host)
        return sock

    def _tls_context(self) -> ssl.SSLContext:
        """Trusting ``ca_file`` (or the system's CAs); a file that cannot be used needs a
        person (``failing``), not a retry."""
        try:
            return ssl.create_default_context(cafile=self._config.ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = (
                exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            )
            raise UnusableCaFile(
                f"ca_file {self._config.ca_file!r} cannot be used: {reason}"
            ) from None

    def _peer_closed(self, sock: socket.socket) -> bool:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ssl.SSLError):
            return True

    def send(self, batch: Batch) -> Outcome:
        try:
            if self._sock is not None and self._peer_closed(self._sock):
                self.close()
            if self._sock is None:
                self._sock = self._connect()
            self._sock.sendall(b"".join(batch.pieces))
        except DestinationRefused as exc:
            self.close()
            return Outcome("failing", f"{self._what}: destination refused: {exc.message}")
        except UnusableCaFile as exc:
            return Outcome("failing", f"{self._what}: {exc}")
        except ssl.SSLCertVerificationError as exc:
            self.close()
            return Outcome("failing", f"{self._what}: TLS certificate not trusted: {exc.reason}")
        except (OSError, ssl.SSLError) as exc:
            self.close()
            return Outcome("retry", f"{self._what}: {type(exc).__name__}: {str(exc)[:200]}")
        return ACCEPTED

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
