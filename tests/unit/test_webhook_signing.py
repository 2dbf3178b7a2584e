"""Signatures are what a customer's ``standardwebhooks`` verifier accepts."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from trailkeeper.auth.tokens import new_webhook_secret
from trailkeeper.webhooks.signing import signature_headers

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
PAYLOAD = b'{"type":"export.succeeded","timestamp":"2026-11-20T12:00:00.000000Z","data":{"id":"e"}}'


def test_the_reference_verifier_accepts_the_headers() -> None:
    now = datetime.now(UTC)
    headers = signature_headers(SECRET, "msg_exp_1", PAYLOAD, now)
    assert Webhook(SECRET).verify(PAYLOAD, headers) == {
        "type": "export.succeeded",
        "timestamp": "2026-11-20T12:00:00.000000Z",
        "data": {"id": "e"},
    }
    assert headers["webhook-id"] == "msg_exp_1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"


def test_another_secret_or_another_body_does_not_verify() -> None:
    headers = signature_headers(SECRET, "msg_1", PAYLOAD, datetime.now(UTC))
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(PAYLOAD, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(PAYLOAD.replace(b'"e"', b'"f"'), headers)


def test_each_attempt_is_signed_for_its_own_time() -> None:
    now = datetime.now(UTC)
    first = signature_headers(SECRET, "msg_1", PAYLOAD, now - timedelta(seconds=90))
    second = signature_headers(SECRET, "msg_1", PAYLOAD, now)
    assert first["webhook-id"] == second["webhook-id"]
    assert first["webhook-signature"] != second["webhook-signature"]
    assert int(second["webhook-timestamp"]) - int(first["webhook-timestamp"]) == 90
    for headers in (first, second):
        Webhook(SECRET).verify(PAYLOAD, headers)


def test_an_offset_time_signs_the_same_instant() -> None:
    now = datetime.now(UTC)
    elsewhere = now.astimezone(timezone(timedelta(hours=-3)))
    assert signature_headers(SECRET, "m", PAYLOAD, elsewhere) == signature_headers(
        SECRET, "m", PAYLOAD, now
    )
    Webhook(SECRET).verify(PAYLOAD, signature_headers(SECRET, "m", PAYLOAD, elsewhere))


@pytest.mark.parametrize("message_id", ["", "msg.1"])
def test_ids_that_would_make_the_signed_text_ambiguous_are_refused(message_id: str) -> None:
    with pytest.raises(ValueError, match="webhook-id"):
        signature_headers(SECRET, message_id, PAYLOAD, datetime.now(UTC))


def test_tenant_secrets_are_standard_base64_as_every_verifier_reads_them() -> None:
    """Standard Webhooks libraries (Python, JS, Go, ...) take the key as the
    *standard* base64 decoding of what follows ``whsec_``; a URL-safe alphabet
    makes some secrets unusable and others decode differently per language."""
    for _ in range(64):
        secret = new_webhook_secret()
        assert secret.startswith("whsec_")
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        assert 24 <= len(key) <= 64
        headers = signature_headers(secret, "msg_1", PAYLOAD, datetime.now(UTC))
        Webhook(secret).verify(PAYLOAD, headers)
