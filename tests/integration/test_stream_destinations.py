"""Each destination against a receiver that speaks its protocol, on SQLite and
PostgreSQL: S3 (moto's standalone server), a Standard Webhooks receiver that
verifies signatures, Datadog's intake, Elasticsearch ``_bulk`` (per-item 429 and
409, a mapping error) and Azure Monitor (Entra ID token + Logs Ingestion).

The receivers refuse what is over their per-request limits (413): batches are cut by
count and by bytes before they are sent, so no request is refused. Azure Monitor's
token is reused until shortly before it expires, then renewed, never sent expired."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from siem import (
    AZ_MAX_BYTES,
    DD_KEY,
    DD_MAX_BYTES,
    ES_KEY,
    HttpReceiver,
    azure,
    azure_config,
    datadog,
    elasticsearch,
    throttled,
    webhook_receiver,
)
from streaming import (
    assert_complete_in_order,
    create_stream,
    supervising,
    wait_stream,
    wait_until,
)
from support import Api, delete_streams, make_event
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.streams.supervisor import StreamSupervisor

pytest_plugins = ["moto_s3"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_destinations": True, "outbound_timeout": 2.0})


@pytest.fixture(autouse=True)
def _own_streams_only(service: Trailkeeper, api: Api) -> Iterator[None]:
    yield
    delete_streams(service, api)


@pytest.fixture
def streaming(service: Trailkeeper) -> Iterator[StreamSupervisor]:
    with supervising(service) as supervisor:
        yield supervisor


def ingest(api: Api, count: int, start: int = 0, blob: int = 0) -> list[int]:
    """``count`` events, in requests of at most 1,000 events and about 8 MB."""
    per_request = 1000 if blob == 0 else 8_000_000 // blob
    fields = {"metadata": {"blob": "x" * blob}} if blob else {}
    seqs: list[int] = []
    for first in range(start, start + count, per_request):
        last = min(first + per_request, start + count)
        receipts = api.ingest(*[make_event(i, **fields) for i in range(first, last)])
        seqs += [r["seq"] for r in receipts]
    return seqs


MOVED = {"action": "card.moved"}


def test_s3_objects_are_gzip_jsonl_under_dated_keys(
    api: Api, s3_bucket: str, s3_client: Any, aws_env: str, streaming: StreamSupervisor
) -> None:
    before = datetime.now(UTC)
    seqs = ingest(api, 120)
    config = {"bucket": s3_bucket, "prefix": "audit/", "endpoint_url": aws_env}
    stream = create_stream(api, "s3", config, filters=MOVED)

    def objects() -> list[str]:
        listed = s3_client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])
        return sorted(o["Key"] for o in listed)

    def lines() -> list[dict[str, Any]]:
        found = []
        for key in objects():
            body = s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
            found += [json.loads(line) for line in gzip.decompress(body).splitlines()]
        return found

    wait_until(lambda: len(lines()) >= 120)
    keys = objects()
    prefix, sid, year, month, day, name = keys[0].split("/")
    assert (prefix, sid) == ("audit", stream["id"])
    days = {moment.strftime("%Y/%m/%d") for moment in (before, datetime.now(UTC))}
    assert f"{year}/{month}/{day}" in days  # the UTC day of delivery
    assert name == f"{seqs[0]:012d}-{int(name.split('-')[1][:12]):012d}.jsonl.gz"
    assert_complete_in_order([e["seq"] for e in lines()], seqs)
    assert lines()[0]["actor"]["email"] == "u0@example.com"


def test_s3_missing_bucket_is_failing(api: Api, aws_env: str, streaming: StreamSupervisor) -> None:
    ingest(api, 3)
    stream = create_stream(api, "s3", {"bucket": "no-such-bucket-here", "endpoint_url": aws_env})
    shown = wait_stream(api, stream["id"], lambda s: s["status"] == "failing")
    assert shown["last_error"].startswith("S3 answered NoSuchBucket for bucket no-such-bucket-here")


def test_webhook_batches_are_signed_and_verified(
    api: Api, service: Trailkeeper, streaming: StreamSupervisor
) -> None:
    secret = service.tenancy.webhook_secret(service.tenancy.tenant(api.tenant))
    verifier = Webhook(secret)
    with webhook_receiver(lambda body, headers: verifier.verify(body, headers)) as hook:
        hook.script.append((503, {}, b""))
        seqs = ingest(api, 40)
        stream = create_stream(api, "webhook", {"url": hook.url + "/audit"}, filters=MOVED)
        received = hook.wait_for(40)
    assert_complete_in_order([e["seq"] for e in received], seqs)
    first, retried = hook.requests[0], hook.requests[1]
    assert first.headers["webhook-id"] == retried.headers["webhook-id"]
    assert first.headers["webhook-id"].startswith(f"msg_{stream['id']}_")
    message = json.loads(retried.body)
    assert message["type"] == "audit_log.events"
    assert message["data"]["stream_id"] == stream["id"]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ((410, {}, b""), "the webhook receiver answered HTTP 410 (gone)"),
        (
            (302, {"Location": "http://169.254.169.254/"}, b""),
            "the webhook receiver answered HTTP 302: redirects are not followed",
        ),
        ((401, {}, b"bad signature"), "the webhook receiver answered HTTP 401: bad signature"),
    ],
    ids=["410", "302", "401"],
)
def test_webhook_refusals_make_the_stream_failing_until_accepted(
    api: Api, service: Trailkeeper, streaming: StreamSupervisor, reply: Any, error: str
) -> None:
    verifier = Webhook(service.tenancy.webhook_secret(service.tenancy.tenant(api.tenant)))
    with webhook_receiver(lambda body, headers: verifier.verify(body, headers)) as hook:
        hook.script.append(reply)
        seqs = ingest(api, 6)
        stream = create_stream(api, "webhook", {"url": hook.url + "/audit"}, filters=MOVED)
        failing = wait_stream(api, stream["id"], lambda s: s["status"] == "failing")
        assert (failing["last_error"], failing["delivered"]) == (error, 0)
        received = hook.wait_for(6)  # tried again later (or on resume): nothing was dropped
        healthy = wait_stream(api, stream["id"], lambda s: s["status"] == "active")
    assert_complete_in_order([e["seq"] for e in received], seqs)
    assert [r.path for r in hook.requests] == ["/audit", "/audit"]  # the redirect not followed
    assert healthy["last_error"] is None


def test_elasticsearch_refused_credentials_are_failing(
    api: Api, streaming: StreamSupervisor
) -> None:
    with elasticsearch(api_key="another-key") as es:
        ingest(api, 3)
        config = {"url": es.url, "index": "audit-events", "api_key": ES_KEY}
        stream = create_stream(api, "elasticsearch", config, filters=MOVED)
        shown = wait_stream(api, stream["id"], lambda s: s["status"] == "failing")
    assert shown["last_error"].startswith("Elasticsearch answered HTTP 401: ")
    assert "security_exception" in shown["last_error"]
    assert (shown["delivered"], es.events) == (0, [])


def test_datadog_intake(api: Api, streaming: StreamSupervisor) -> None:
    with datadog() as dd:
        dd.script.append(throttled(1))
        seqs = ingest(api, 30)
        config = {"url": dd.url, "api_key": DD_KEY, "service": "pipefy", "tags": ["env:prod"]}
        create_stream(api, "datadog", config, filters=MOVED, format="ocsf")
        logs = dd.wait_for(30)
    assert_complete_in_order([log["audit"]["metadata"]["sequence"] for log in logs], seqs)
    first = logs[0]
    assert first["ddsource"] == "trailkeeper"
    assert first["service"] == "pipefy"
    assert first["ddtags"] == "env:prod"
    assert first["audit"]["class_uid"] == 6003
    assert first["audit"]["type_uid"] == 600303  # card.moved: an Update
    assert dd.requests[-1].headers["content-encoding"] == "gzip"
    assert all(r.headers["dd-api-key"] == DD_KEY for r in dd.requests)


def test_elasticsearch_bulk_item_errors(api: Api, streaming: StreamSupervisor) -> None:
    with elasticsearch() as es:
        es.state["reject"].update({"evt-3", "evt-7"})  # type: ignore[attr-defined]
        seqs = ingest(api, 20)
        config = {"url": es.url, "index": "audit-events", "api_key": ES_KEY}
        stream = create_stream(api, "elasticsearch", config, filters=MOVED)
        docs = es.wait_for(20)
        # Items of one bulk request are stored independently: the two refused ones
        # were stored on the retry, each event exactly once (the rest answered 409).
        assert sorted(d["seq"] for d in docs) == seqs
        assert docs[0]["@timestamp"] == docs[0]["occurred_at"]
        conflicts = es.requests[1].body.count(b'"create"')
        assert conflicts == 20
        es.state["bad"].add("evt-25")  # type: ignore[attr-defined]
        ingest(api, 10, start=20)
        shown = wait_stream(api, stream["id"], lambda s: s["status"] == "failing")
    assert "document_parsing_exception" in shown["last_error"]
    assert "HTTP 400" in shown["last_error"]


def test_azure_monitor_token_cached_and_rows_ingested(
    api: Api, streaming: StreamSupervisor
) -> None:
    with azure() as az:
        config = azure_config(az)
        create_stream(api, "azure_monitor", config, filters=MOVED, start="now")
        seqs: list[int] = []
        for round_ in range(3):
            seqs += ingest(api, 10, start=round_ * 10)
            az.wait_for(len(seqs))
        rows = az.events
    assert_complete_in_order([row["seq"] for row in rows], seqs)
    assert rows[0]["TimeGenerated"] == rows[0]["occurred_at"]
    tokens = [r for r in az.requests if r.path.endswith("/oauth2/v2.0/token")]
    ingests = [r for r in az.requests if "/dataCollectionRules/" in r.path]
    assert len(tokens) == 1  # cached across the batches
    assert len(ingests) >= 3


def test_azure_monitor_bad_secret_is_failing(api: Api, streaming: StreamSupervisor) -> None:
    with azure() as az:
        config = azure_config(az, "wrong")
        ingest(api, 2)
        stream = create_stream(api, "azure_monitor", config)
        shown = wait_stream(api, stream["id"], lambda s: s["status"] == "failing")
    assert "invalid_client" in shown["last_error"]
    assert "wrong" not in shown["last_error"]


def test_test_endpoint_sends_one_event(api: Api, streaming: StreamSupervisor) -> None:
    with datadog() as dd:
        config = {"url": dd.url, "api_key": DD_KEY}
        stream = create_stream(api, "datadog", config, start="now", filters=MOVED)
        answer = api.post(f"/v1/streams/{stream['id']}/test")
        assert answer.json() == {"delivered": True, "error": None}
        (log,) = dd.events
        assert log["audit"]["action"] == "trailkeeper.stream.test"
        config["api_key"] = "nope"
        wrong = create_stream(api, "datadog", config, start="now", filters=MOVED)
        answer = api.post(f"/v1/streams/{wrong['id']}/test").json()
    assert answer["delivered"] is False
    assert answer["error"].startswith("Datadog answered HTTP 403")
    tested = api.events(self_audit=True, order="asc", action="trailkeeper.stream.tested")
    assert [(e["resource"]["id"], e["metadata"]["delivered"]) for e in tested] == [
        (stream["id"], True), (wrong["id"], False),
    ]  # fmt: skip


BLOB = 50_000  # characters of metadata: events of about 50 KB


def posts(receiver: HttpReceiver, marker: str) -> list[Any]:
    return [r for r in receiver.requests if marker in r.path]


def test_datadog_requests_hold_at_most_1000_logs_and_5_mb(
    api: Api, streaming: StreamSupervisor
) -> None:
    small = ingest(api, 2100)
    large = ingest(api, 120, start=5000, blob=BLOB)  # 6 MB in all
    with datadog() as dd:
        create_stream(api, "datadog", {"url": dd.url, "api_key": DD_KEY}, filters=MOVED)
        logs = dd.wait_for(len(small) + len(large), timeout=120)
    assert_complete_in_order([log["audit"]["seq"] for log in logs], small + large)
    sent = posts(dd, "/api/v2/logs")
    counts = [len(r.json_body()) for r in sent]
    sizes = [len(r.raw_body()) for r in sent]
    assert max(counts) == 1000  # batched by count, up to the limit
    assert max(sizes) <= DD_MAX_BYTES  # and by bytes: the 6 MB went in several requests
    assert sum(1 for r in sent if len(r.raw_body()) > 1_000_000) >= 2
    assert all(r.headers["content-encoding"] == "gzip" for r in sent)
    assert [r.status for r in sent] == [202] * len(sent)  # none was refused


def test_azure_monitor_calls_hold_at_most_1_mb(api: Api, streaming: StreamSupervisor) -> None:
    seqs = ingest(api, 60, blob=BLOB)  # 3 MB
    with azure() as az:
        config = azure_config(az)
        create_stream(api, "azure_monitor", config, filters=MOVED)
        rows = az.wait_for(len(seqs), timeout=120)
    assert_complete_in_order([row["seq"] for row in rows], seqs)
    calls = posts(az, "/dataCollectionRules/")
    assert len(calls) >= 3
    assert all(len(r.raw_body()) <= AZ_MAX_BYTES for r in calls)
    assert [r.status for r in calls] == [204] * len(calls)  # none was refused


def test_azure_monitor_token_renewed_before_it_expires(
    api: Api, streaming: StreamSupervisor
) -> None:
    lifetime, kept = 65, 5.0  # kept until a minute before it expires: 5 s here
    with azure(lifetime=lifetime) as az:
        config = azure_config(az)
        create_stream(api, "azure_monitor", config, filters=MOVED, start="now")
        seqs = ingest(api, 10)
        az.wait_for(10)
        seqs += ingest(api, 10, start=10)
        az.wait_for(20)
        time.sleep(kept + 0.5)
        seqs += ingest(api, 10, start=20)
        rows = az.wait_for(30)
    assert_complete_in_order([row["seq"] for row in rows], seqs)
    issued: dict[str, float] = az.issued  # type: ignore[attr-defined]
    calls = posts(az, "/dataCollectionRules/")
    assert [r.status for r in calls] == [204] * len(calls)  # no token was refused
    used = [r.headers["authorization"].removeprefix("Bearer ") for r in calls]
    assert len(set(used)) >= 2  # renewed
    assert len(calls) > len(set(used))  # and reused while fresh
    for call, token in zip(calls, used, strict=True):
        assert call.at - (issued[token] - lifetime) < kept + 0.5  # never kept past renewal


def test_azure_monitor_token_refused_early_is_replaced(
    api: Api, streaming: StreamSupervisor
) -> None:
    with azure() as az:
        stream = create_stream(api, "azure_monitor", azure_config(az), filters=MOVED, start="now")
        seqs = ingest(api, 5)
        az.wait_for(5)
        az.issued.clear()  # type: ignore[attr-defined]  # Entra ID revoked it before its time
        seqs += ingest(api, 5, start=5)
        rows = az.wait_for(10)
        shown = wait_stream(api, stream["id"], lambda s: s["cursor_seq"] >= seqs[-1])
    assert_complete_in_order([row["seq"] for row in rows], seqs)
    calls = posts(az, "/dataCollectionRules/")
    statuses = [r.status for r in calls]
    assert (statuses.count(401), statuses[-1]) == (1, 204)  # the batch again, new token
    tokens = [r for r in az.requests if r.path.endswith("/oauth2/v2.0/token")]
    assert len(tokens) == 2
    assert (shown["status"], shown["last_error"]) == ("active", None)


def test_azure_monitor_token_answer_without_a_token_is_retried(
    api: Api, streaming: StreamSupervisor
) -> None:
    page = (200, {"Content-Type": "text/html"}, b"<html>Sign in to the proxy</html>")
    with azure() as az:
        az.script += [page, page, page]  # the token requests come first
        seqs = ingest(api, 4)
        stream = create_stream(api, "azure_monitor", azure_config(az), filters=MOVED)
        seen = wait_stream(api, stream["id"], lambda s: s["last_error"] is not None)
        rows = az.wait_for(4)
    assert seen["last_error"] == "Entra ID (token) answered 200 without an access token"
    assert seen["status"] == "active"  # retried, not a person's problem
    assert_complete_in_order([row["seq"] for row in rows], seqs)
