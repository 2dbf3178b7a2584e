"""S3 streams check a custom endpoint's name before every request, not only when the
stream was made: a DNS answer that turns private later is refused, and nothing is sent."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from support import answering
from trailkeeper.streams.config import S3Config
from trailkeeper.streams.destinations.base import Batch
from trailkeeper.streams.destinations.s3 import S3Stream, make_client


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Test credentials, and no config file of the machine's (requests are signed)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)


def _batch() -> Batch:
    return Batch("str_test", [0, 1], [b'{"seq":0}\n', b'{"seq":1}\n'])


def test_an_endpoint_that_turns_private_after_the_stream_was_made_is_refused() -> None:
    dns = answering("93.184.215.14")  # public when the stream is made
    config = S3Config(bucket="audit-archive", endpoint_url="http://s3.rebinding.invalid:9000")
    stream = S3Stream(config, lambda: make_client(config, 1.0, False, dns))
    first = stream.send(_batch())
    # checked before sending; then the request went out and failed to connect (the name
    # is not real)
    assert len(dns.asked) >= 1
    assert set(dns.asked) == {"s3.rebinding.invalid"}
    assert first.kind == "retry", first
    asked = len(dns.asked)
    dns.addresses = [ipaddress.ip_address("127.0.0.1")]  # the answer turns to loopback
    second = stream.send(_batch())
    assert second.kind == "failing", second
    assert "destination refused" in second.message
    assert "127.0.0.1" in second.message
    assert len(dns.asked) > asked  # the same client asked again
    dns.addresses = [ipaddress.ip_address("169.254.169.254")]
    third = stream.send(_batch())
    assert third.kind == "failing"
    assert "metadata" in third.message
    stream.close()


def test_private_endpoints_pass_where_the_deployment_allows_them() -> None:
    dns = answering("127.0.0.1")
    config = S3Config(bucket="audit-archive", endpoint_url="http://s3.rebinding.invalid:9000")
    stream = S3Stream(config, lambda: make_client(config, 1.0, True, dns))
    outcome = stream.send(_batch())
    assert outcome.kind == "retry", outcome  # sent (and failed to connect), not refused
    stream.close()
