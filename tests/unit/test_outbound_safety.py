"""Outbound safety: which destinations are refused, and why.

Addresses are literals and names resolve through an injected resolver; the
system resolver is only asked about ``localhost`` (no external DNS in tests)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from trailkeeper.errors import InvalidRequest
from trailkeeper.outbound.safety import (
    MAX_URL_LENGTH,
    DestinationRefused,
    IPAddress,
    check_destination,
    refusal,
    resolve_host,
)

REFUSED = {
    # address: words the reason must contain
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "::1": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.254": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "169.254.1.1": "link-local",
    "fe80::1": "link-local",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.254": "carrier-grade NAT",
    "192.0.2.1": "private|not a publicly routable",  # documentation range
    "198.18.0.1": "private|not a publicly routable",  # benchmarking range
    "2001:db8::1": "private|not a publicly routable",  # documentation range
    "::ffff:127.0.0.1": "IPv6 form of 127.0.0.1, a loopback",
    "::ffff:10.0.0.1": "IPv6 form of 10.0.0.1, a private",
    "::ffff:100.64.0.1": "IPv6 form of 100.64.0.1, a carrier-grade NAT",
    "2002:7f00:1::": "IPv6 form of 127.0.0.1",  # 6to4
    "64:ff9b::a00:1": "IPv6 form of 10.0.0.1",  # NAT64
}
METADATA = [
    "169.254.169.254",
    "169.254.170.2",
    "fd00:ec2::254",
    "100.100.100.200",
    "192.0.0.192",
    "::ffff:169.254.169.254",
    "::ffff:100.100.100.200",
]
PUBLIC = ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


def url_for(address: str, path: str = "/hook") -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}{path}"


def fixed(*answers: str) -> FixedResolver:
    return FixedResolver([ipaddress.ip_address(a) for a in answers])


class FixedResolver:
    """Answers every name with the same addresses and remembers who asked."""

    def __init__(self, answers: Sequence[IPAddress]) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.asked.append((host, port))
        return self.answers


@pytest.mark.parametrize(("address", "reason"), REFUSED.items())
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    with pytest.raises(DestinationRefused, match=reason) as caught:
        check_destination(url_for(address), allow_private=False)
    assert "--allow-private-destinations" in caught.value.message
    assert caught.value.status == 400
    assert caught.value.code == "invalid_request"
    assert isinstance(caught.value, InvalidRequest)


@pytest.mark.parametrize("address", list(REFUSED))
def test_allow_private_accepts_them(address: str) -> None:
    url = url_for(address)
    assert check_destination(url, allow_private=True) == url


@pytest.mark.parametrize("address", METADATA)
@pytest.mark.parametrize("allow_private", [False, True])
def test_metadata_addresses_are_always_refused(address: str, allow_private: bool) -> None:
    with pytest.raises(DestinationRefused, match="cloud metadata"):
        check_destination(url_for(address), allow_private=allow_private)


@pytest.mark.parametrize(
    "host", ["metadata.google.internal", "METADATA.Google.Internal.", "metadata", "metadata.goog"]
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_metadata_names_are_refused_without_resolving(host: str, allow_private: bool) -> None:
    resolver = fixed("8.8.8.8")
    with pytest.raises(DestinationRefused, match="cloud metadata service"):
        check_destination(f"http://{host}/x", allow_private=allow_private, resolver=resolver)
    assert resolver.asked == []


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_accepted(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None
    url = url_for(address, "/hook?x=1")
    assert check_destination(url, allow_private=False) == url


@pytest.mark.parametrize("host", ["127.1", "0x7f.0.0.1", "2130706433", "017700000001", "0177.1"])
def test_legacy_spellings_of_loopback_are_caught_without_dns(host: str) -> None:
    resolver = fixed("8.8.8.8")  # would let it through if it were asked
    with pytest.raises(DestinationRefused, match=r"127\.0\.0\.1, which is a loopback"):
        check_destination(f"http://{host}/", allow_private=False, resolver=resolver)
    assert resolver.asked == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "https://"),
        ("file:///etc/passwd", "https://"),
        ("javascript:alert(1)", "https://"),
        ("example.com/hook", "https://"),
        ("https:///hook", "host"),
        ("https://user:pass@example.com/", "user name or password"),
        ("https://user@example.com/", "user name or password"),
        ("https://@example.com/", "user name or password"),
        ("https://exa mple.com/", "spaces or control"),
        ("https://example.com/\r\nX-Injected: 1", "spaces or control"),
        ("https://[::1/", "not a valid URL"),
        ("https://example.com:99999/", "between 1 and 65535"),
        ("https://example.com:0/", "between 1 and 65535"),
        ("https://example.com:abc/", "not a valid URL"),
        ("https://example.com/" + "a" * MAX_URL_LENGTH, "at most 2048"),
    ],
)
def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(DestinationRefused, match=reason):
        check_destination(url, allow_private=True, resolver=fixed("8.8.8.8"))


def test_a_url_of_exactly_the_limit_is_accepted() -> None:
    base = "https://example.com/"
    url = base + "a" * (MAX_URL_LENGTH - len(base))
    assert check_destination(url, allow_private=False, resolver=fixed("8.8.8.8")) == url


def test_names_are_resolved_and_every_answer_is_checked() -> None:
    resolver = fixed("8.8.8.8", "10.0.0.7")  # one bad answer among good ones
    with pytest.raises(DestinationRefused, match=r"hooks\.example\.com resolves to 10\.0\.0\.7"):
        check_destination(
            "https://hooks.example.com:8443/h", allow_private=False, resolver=resolver
        )
    assert resolver.asked == [("hooks.example.com", 8443)]


def test_default_ports_are_passed_to_the_resolver() -> None:
    resolver = fixed("8.8.8.8")
    check_destination("https://a.example/", allow_private=False, resolver=resolver)
    check_destination("http://b.example/", allow_private=False, resolver=resolver)
    assert resolver.asked == [("a.example", 443), ("b.example", 80)]


def test_international_names_are_resolved_in_their_ascii_form() -> None:
    resolver = fixed("8.8.8.8")
    check_destination("https://bücher.example/", allow_private=False, resolver=resolver)
    assert resolver.asked == [("xn--bcher-kva.example", 443)]


def test_a_name_with_no_answer_is_refused() -> None:
    with pytest.raises(DestinationRefused, match="does not resolve to any address"):
        check_destination("https://empty.example/", allow_private=True, resolver=fixed())


def test_an_unresolvable_name_is_refused() -> None:
    # An empty label fails inside the resolver call itself: no query leaves the host.
    with pytest.raises(DestinationRefused, match="could not be resolved"):
        check_destination("https://a..example/", allow_private=True)


def test_without_resolve_a_name_is_judged_on_its_form_only() -> None:
    resolver = fixed("10.0.0.1")
    url = "https://hooks.example.com/x"
    assert check_destination(url, allow_private=False, resolve=False, resolver=resolver) == url
    assert resolver.asked == []
    with pytest.raises(DestinationRefused, match="private"):
        check_destination("https://10.0.0.1/x", allow_private=False, resolve=False)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "api.localhost"])
def test_localhost_names_are_refused_even_without_resolving(host: str) -> None:
    with pytest.raises(DestinationRefused, match="loopback name"):
        check_destination(f"http://{host}:8080/", allow_private=False, resolve=False)


def test_localhost_resolves_to_loopback_through_the_system_resolver() -> None:
    addresses = resolve_host("localhost", 80)
    assert addresses
    assert all(a.is_loopback for a in addresses)
    assert check_destination("http://localhost:8080/", allow_private=True) == (
        "http://localhost:8080/"
    )


def test_messages_name_the_host_but_not_the_path_or_query() -> None:
    with pytest.raises(DestinationRefused) as caught:
        check_destination(
            "https://10.0.0.1/services/T0/B0/SECRETPATH?token=SECRETQ", allow_private=False
        )
    assert "10.0.0.1" in caught.value.message
    assert "SECRET" not in caught.value.message
