"""Which outbound destinations trailkeeper accepts.

Webhook and stream URLs are chosen by tenants, so they must not point into the
network trailkeeper runs in (server-side request forgery): loopback, private
ranges, link-local, the cloud metadata service. Every address a host resolves
to is checked, and one bad answer is enough to refuse, because the side that
connects may pick any of them. ``outbound.http`` checks again when it connects,
so a DNS answer that changes after a URL was accepted does not get through.

Messages name the host, never the whole URL: paths and queries of webhook URLs
often carry the receiver's own secret."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import httpx

from trailkeeper.errors import InvalidRequest

__all__ = [
    "MAX_URL_LENGTH",
    "METADATA_ADDRESSES",
    "METADATA_HOSTS",
    "DestinationRefused",
    "IPAddress",
    "Resolver",
    "check_addresses",
    "check_destination",
    "refusal",
    "resolve_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[IPAddress]]

MAX_URL_LENGTH = 2048
_ALLOW_HINT = (
    "destinations must be publicly reachable (a deployment can allow private ones "
    "with --allow-private-destinations)"
)

# Metadata services hand out cloud credentials. They are refused even when private
# destinations are allowed: no webhook receiver or SIEM lives there.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata and credentials
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class DestinationRefused(InvalidRequest):
    """A URL trailkeeper will not send to: a 400 ``invalid_request`` at the API."""


def check_destination(
    url: str,
    *,
    allow_private: bool,
    resolve: bool = True,
    resolver: Resolver | None = None,
) -> str:
    """Return ``url`` if trailkeeper may send to it, else raise ``DestinationRefused``.

    With ``resolve`` false only the URL itself is judged (its form, and its host
    when that is an address or a metadata name); the connection is checked anyway."""
    host, port = _host_and_port(url)
    name = host.rstrip(".").lower()
    if name in METADATA_HOSTS:
        raise DestinationRefused(f"{host} is a cloud metadata service; trailkeeper never calls it")
    if not allow_private and (name == "localhost" or name.endswith(".localhost")):
        raise DestinationRefused(f"{host} is a loopback name (RFC 6761); {_ALLOW_HINT}")
    addresses: Sequence[IPAddress] | None = _numeric_addresses(host, port)
    if addresses is None:
        if not resolve:
            return url
        addresses = (resolver or resolve_host)(host, port)
    check_addresses(host, addresses, allow_private=allow_private)
    return url


def check_addresses(host: str, addresses: Sequence[IPAddress], *, allow_private: bool) -> None:
    """Refuse ``host`` unless every one of its ``addresses`` is acceptable."""
    if not addresses:
        raise DestinationRefused(f"{host} does not resolve to any address")
    for address in addresses:
        shown = host if host == str(address) else f"{host} resolves to {address}, which"
        if address in METADATA_ADDRESSES or _embedded_in(address, METADATA_ADDRESSES):
            raise DestinationRefused(
                f"{shown} is a cloud metadata address; trailkeeper never calls it"
            )
        reason = None if allow_private else refusal(address)
        if reason is not None:
            raise DestinationRefused(f"{shown} is {reason}; {_ALLOW_HINT}")


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination, or None when it is one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = refusal(embedded)
            return None if inner is None else f"an IPv6 form of {embedded}, {inner}"
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in _CGNAT, "a carrier-grade NAT address (100.64.0.0/10)"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a publicly routable address"),
    )
    return next((reason for matched, reason in checks if matched), None)


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (the system resolver, as connecting would)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise DestinationRefused(f"{host} could not be resolved to an address") from None
    return _addresses(answers)


def _host_and_port(url: str) -> tuple[str, int]:
    """Parse as httpx will when sending, so the check and the request agree."""
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"A destination URL is at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise DestinationRefused("A destination URL must not contain spaces or control characters")
    try:
        parsed = httpx.URL(url)
        netloc = urlsplit(url).netloc
    except (httpx.InvalidURL, ValueError):
        raise DestinationRefused("The destination is not a valid URL") from None
    if parsed.scheme not in ("https", "http"):
        raise DestinationRefused("A destination URL must start with https:// (or http://)")
    if not parsed.raw_host:
        raise DestinationRefused("A destination URL needs a host name")
    if parsed.userinfo or "@" in netloc:
        raise DestinationRefused(
            "A destination URL must not contain a user name or password; "
            "put credentials in the destination's own settings"
        )
    port = parsed.port if parsed.port is not None else 443 if parsed.scheme == "https" else 80
    if not 0 < port < 65536:
        raise DestinationRefused("A destination URL's port must be between 1 and 65535")
    return parsed.raw_host.decode("ascii"), port


def _numeric_addresses(host: str, port: int) -> list[IPAddress] | None:
    """The address ``host`` spells, including legacy forms such as ``127.1`` or
    ``2130706433`` that resolvers accept; None for a name. Never queries DNS."""
    try:
        answers = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
    except (OSError, UnicodeError):
        return None
    return _addresses(answers)


def _addresses(answers: Sequence[tuple[object, ...]]) -> list[IPAddress]:
    found: list[IPAddress] = []
    for answer in answers:
        sockaddr = answer[4]
        assert isinstance(sockaddr, tuple)
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _embedded_in(address: IPAddress, targets: frozenset[IPAddress]) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        return embedded is not None and embedded in targets
    return False
