"""The outbound client against a real receiver on 127.0.0.1: destinations are
checked again when connecting, the checked address is the one connected to,
redirects and proxies are never followed."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import httpx
import pytest

from receiver import Answer, Receiver
from support import answering
from trailkeeper import __version__
from trailkeeper.outbound.http import outbound_client
from trailkeeper.outbound.safety import DestinationRefused, check_destination
from trailkeeper.settings import Settings


def settings_for(tmp_path: Path, *, allow_private: bool) -> Settings:
    return Settings(
        data_dir=tmp_path, allow_private_destinations=allow_private, outbound_timeout=5.0
    )


def test_a_client_has_the_deployment_timeout_no_redirects_and_a_user_agent(
    tmp_path: Path,
) -> None:
    with (
        Receiver() as receiver,
        outbound_client(settings_for(tmp_path, allow_private=True)) as client,
    ):
        response = client.post(receiver.url + "/hook", content=b"{}")
        assert response.status_code == 200
        assert client.timeout == httpx.Timeout(5.0)
        assert client.follow_redirects is False
    assert receiver.requests[0].headers["user-agent"] == f"trailkeeper/{__version__}"
    assert receiver.requests[0].body == b"{}"


def test_private_destinations_are_refused_when_sending(tmp_path: Path) -> None:
    with (
        Receiver() as receiver,
        outbound_client(settings_for(tmp_path, allow_private=False)) as client,
        pytest.raises(DestinationRefused, match="loopback"),
    ):
        client.post(receiver.url + "/hook", content=b"{}")
    assert receiver.requests == []


def test_a_dns_answer_that_changes_after_acceptance_is_refused(tmp_path: Path) -> None:
    dns = answering("93.184.215.14")
    with Receiver() as receiver:
        url = f"http://hooks.example:{receiver.port}/hook"
        assert check_destination(url, allow_private=False, resolver=dns) == url  # accepted
        dns.addresses = [ipaddress.ip_address("127.0.0.1")]  # ... then rebound
        settings = settings_for(tmp_path, allow_private=False)
        with (
            outbound_client(settings, resolver=dns) as client,
            pytest.raises(DestinationRefused, match=r"hooks\.example resolves to 127\.0\.0\.1"),
        ):
            client.post(url, content=b"{}")
    assert receiver.requests == []
    assert dns.asked == ["hooks.example", "hooks.example"]


def test_one_bad_answer_among_good_ones_is_refused(tmp_path: Path) -> None:
    dns = answering("93.184.215.14", "10.0.0.3")
    settings = settings_for(tmp_path, allow_private=False)
    with (
        outbound_client(settings, resolver=dns) as client,
        pytest.raises(DestinationRefused, match=r"10\.0\.0\.3"),
    ):
        client.post("http://hooks.example/hook", content=b"{}")


def test_the_connection_goes_to_the_checked_address(tmp_path: Path) -> None:
    # "hooks.example" has no real DNS entry: reaching the receiver proves the
    # connection used our resolver's answer. 127.0.0.2 refuses (nothing listens
    # there), so the next answer is tried.
    dns = answering("127.0.0.2", "127.0.0.1")
    with Receiver() as receiver:
        settings = settings_for(tmp_path, allow_private=True)
        with outbound_client(settings, resolver=dns) as client:
            response = client.post(f"http://hooks.example:{receiver.port}/h", content=b"x")
    assert response.status_code == 200
    assert receiver.requests[0].headers["host"] == f"hooks.example:{receiver.port}"


def test_every_request_resolves_again(tmp_path: Path) -> None:
    dns = answering("127.0.0.1")
    with Receiver() as receiver:
        settings = settings_for(tmp_path, allow_private=True)
        with outbound_client(settings, resolver=dns) as client:
            for _ in range(3):
                client.post(f"http://hooks.example:{receiver.port}/h", content=b"x")
    assert len(receiver.requests) == 3
    assert dns.asked == ["hooks.example"] * 3


def test_redirects_are_not_followed(tmp_path: Path) -> None:
    with Receiver() as target, Receiver(Answer(307, {"Location": target.url + "/x"})) as first:
        with outbound_client(settings_for(tmp_path, allow_private=True)) as client:
            response = client.post(first.url + "/hook", content=b"{}")
        assert response.status_code == 307
    assert len(first.requests) == 1
    assert target.requests == []


def test_proxy_variables_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Receiver() as proxy, Receiver() as receiver:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.url)
        with outbound_client(settings_for(tmp_path, allow_private=True)) as client:
            assert client.post(receiver.url + "/hook", content=b"{}").status_code == 200
    assert proxy.requests == []
    assert len(receiver.requests) == 1


def test_malformed_urls_are_refused_before_connecting(tmp_path: Path) -> None:
    dns = answering("93.184.215.14")
    settings = settings_for(tmp_path, allow_private=False)
    with (
        outbound_client(settings, resolver=dns) as client,
        pytest.raises(DestinationRefused, match="user name or password"),
    ):
        client.post("https://user:pw@hooks.example/h", content=b"{}")
    assert dns.asked == []
