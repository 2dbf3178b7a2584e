"""The one place that makes outbound HTTP clients.

Checking a URL when it is accepted is not enough: its DNS answer may change
later (DNS rebinding). So the client's transport checks the URL again on every
request, resolves the host itself right before connecting, refuses when any
answer is not acceptable, and connects to the very address it checked; TLS
still verifies the certificate against the host name. Redirects are never
followed, and proxy variables from the environment are ignored, since a proxy
would connect to the destination unchecked."""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping

import httpcore
import httpx

from trailkeeper import __version__
from trailkeeper.outbound.safety import (
    Resolver,
    check_addresses,
    check_destination,
    resolve_host,
)
from trailkeeper.settings import Settings

__all__ = ["USER_AGENT", "GuardedBackend", "GuardedTransport", "outbound_client"]

USER_AGENT = f"trailkeeper/{__version__}"
# A fresh connection per request, so every request resolves and checks again.
_NO_KEEPALIVE = httpx.Limits(max_connections=20, max_keepalive_connections=0)


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses that pass ``check_addresses``."""

    def __init__(self, *, allow_private: bool, resolver: Resolver = resolve_host) -> None:
        self._allow_private = allow_private
        self._resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._resolver(host, port)
        check_addresses(host, addresses, allow_private=self._allow_private)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # check_addresses refuses an empty answer
        raise failure


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connections go through ``GuardedBackend``."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = resolve_host,
        verify: ssl.SSLContext | str | bool = True,
        limits: httpx.Limits = _NO_KEEPALIVE,
    ) -> None:
        super().__init__(verify=verify, trust_env=False, limits=limits)
        self._allow_private = allow_private
        self._resolver = resolver
        # httpx builds its pool without a way to pass a network backend; this
        # is the same pool with ours (pinned by tests/unit/test_outbound_http.py).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow_private=allow_private, resolver=resolver),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_destination(str(request.url), allow_private=self._allow_private, resolve=False)
        return super().handle_request(request)


def outbound_client(
    settings: Settings,
    *,
    resolver: Resolver = resolve_host,
    headers: Mapping[str, str] | None = None,
    verify: bool = True,
) -> httpx.Client:
    """A client for webhooks and streams: guarded, no redirects, the deployment's
    timeout, and a ``User-Agent`` that names trailkeeper. ``verify=False`` skips TLS
    certificate checks (a stream whose SIEM has a self-signed certificate)."""
    transport = GuardedTransport(
        allow_private=settings.allow_private_destinations, resolver=resolver, verify=verify
    )
    return httpx.Client(
        transport=transport,
        follow_redirects=False,
        timeout=settings.outbound_timeout,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        trust_env=False,
    )
