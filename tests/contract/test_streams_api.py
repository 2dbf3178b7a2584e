"""``/v1/streams`` over HTTP on both databases: the stream object, per-type config
validation, write-only secrets (never returned, sealed at rest), outbound safety,
scopes and tenancy, pause/resume/delete, and self-audit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from siem import HEC_TOKEN
from support import Api, delete_streams, make_event
from trailkeeper.service import Trailkeeper

PUBLIC = "93.184.215.14"  # a public address: no DNS lookup in tests
SPLUNK = {"url": f"https://{PUBLIC}:8088", "token": HEC_TOKEN}


@pytest.fixture(autouse=True)
def _own_streams_only(service: Trailkeeper, api: Api) -> Iterator[None]:
    yield
    delete_streams(service, api)


def new_stream(api: Api, **fields: Any) -> Any:
    body = {"name": "siem", "type": "splunk_hec", "config": SPLUNK, **fields}
    return api.post("/v1/streams", body)


def test_create_returns_the_stream_without_its_secret(api: Api) -> None:
    receipts = api.ingest(make_event(0), make_event(1))
    response = new_stream(api, filters={"action": "card.*"})
    assert response.status_code == 201, response.text
    stream = response.json()
    assert stream["id"].startswith("str_")
    assert stream["status"] == "active"
    assert stream["config"] == {
        "url": SPLUNK["url"], "sourcetype": "trailkeeper:audit", "verify_tls": True
    }  # fmt: skip
    assert HEC_TOKEN not in response.text
    assert stream["cursor_seq"] == receipts[-1]["seq"]  # start "now": after the events
    assert stream["lag_events"] >= 0
    assert stream["delivered"] == 0
    assert stream["last_delivery_at"] is None
    assert stream["last_error"] is None
    assert stream["filters"] == {"action": "card.*"}
    listed = api.get("/v1/streams").json()["data"]
    assert [s["id"] for s in listed] == [stream["id"]]
    assert HEC_TOKEN not in api.get(f"/v1/streams/{stream['id']}").text


def test_start_at_a_time_begins_with_the_first_event_received_then(api: Api) -> None:
    api.ingest(make_event(0), make_event(1))
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    after = api.ingest(make_event(2), make_event(3))
    stamp = moment.isoformat().replace("+00:00", "Z")
    assert new_stream(api, start=stamp).json()["cursor_seq"] == after[0]["seq"] - 1
    shifted = moment.astimezone(timezone(timedelta(hours=-3))).isoformat()  # same instant
    assert new_stream(api, start=shifted).json()["cursor_seq"] == after[0]["seq"] - 1
    assert new_stream(api, start="2000-01-01T00:00:00Z").json()["cursor_seq"] == -1
    future = (moment + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    later = new_stream(api, start=future).json()
    assert later["cursor_seq"] == new_stream(api, start="now").json()["cursor_seq"] - 1
    assert later["cursor_seq"] > after[-1]["seq"]  # past the end: only what comes next


def test_secret_is_sealed_at_rest(api: Api, service: Trailkeeper) -> None:
    stream = new_stream(api).json()
    tenant = service.tenancy.tenant(api.tenant)
    record = service.store.get_stream(tenant.id, stream["id"])
    assert record is not None
    assert record.secrets_sealed is not None
    assert HEC_TOKEN.encode() not in record.secrets_sealed
    assert HEC_TOKEN not in str(record.config)
    assert service.key.open(record.secrets_sealed) == f'{{"token":"{HEC_TOKEN}"}}'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "splunk_hec", "config": {"url": "https://93.184.215.14"}}, "config.token"),
        ({"type": "nope", "config": {}}, "type"),
        ({"type": "webhook", "config": {"url": "https://93.184.215.14", "x": 1}}, "config.x"),
        ({"type": "syslog", "config": {"host": "h", "port": 0, "protocol": "tcp"}}, "config.port"),
        (
            {"type": "syslog", "config": {"host": "h", "port": 514, "protocol": "udp"}},
            "config.protocol",
        ),
        ({"type": "s3", "config": {"bucket": "Bad_Bucket"}}, "config.bucket"),
        (
            {
                "type": "azure_monitor",
                "config": {
                    "endpoint": "https://93.184.215.14",
                    "dcr_immutable_id": "nope",
                    "stream_name": "Custom-T_CL",
                    "tenant_id": "t",
                    "client_id": "c",
                    "client_secret": "s",
                },
            },
            "config.dcr_immutable_id",
        ),
        (
            {
                "type": "elasticsearch",
                "config": {"url": "https://93.184.215.14", "index": "audit", "username": "u"},
            },
            "config",
        ),
        ({"type": "splunk_hec", "config": SPLUNK, "filters": {"colour": "red"}}, "filters"),
        ({"type": "splunk_hec", "config": SPLUNK, "format": "cef"}, None),
        ({"type": "splunk_hec", "config": SPLUNK, "start": "yesterday"}, "start"),
        ({"type": "splunk_hec", "config": SPLUNK, "start": "2026-13-45T00:00:00Z"}, "start"),
        ({"type": "splunk_hec", "config": "https://93.184.215.14"}, "config"),
        ({"type": "splunk_hec", "config": SPLUNK, "filters": {"action": 5}}, "filters"),
        ({"type": "splunk_hec", "config": {**SPLUNK, "verify_tls": "no"}}, "config.verify_tls"),
        ({"type": "splunk_hec", "config": {**SPLUNK, "url": "ftp://93.184.215.14"}}, "config.url"),
        (
            {"type": "webhook", "config": {"url": "https://user:pw@93.184.215.14/hook"}},
            "config.url",
        ),
        ({"type": "datadog", "config": {"api_key": "k", "tags": "env:prod"}}, "config.tags"),
        ({"type": "datadog", "config": {"api_key": ""}}, "config.api_key"),
        (
            {
                "type": "elasticsearch",
                "config": {
                    "url": "https://93.184.215.14",
                    "index": "audit",
                    "api_key": "k",
                    "username": "u",
                    "password": "p",
                },
            },
            "config",
        ),
        (
            {"type": "elasticsearch", "config": {"url": "https://93.184.215.14", "index": "A*"}},
            "config.index",
        ),
        (
            {
                "type": "azure_monitor",
                "config": {
                    "endpoint": "https://93.184.215.14",
                    "dcr_immutable_id": "dcr-" + "0" * 32,
                    "stream_name": "Custom-T_CL",
                    "tenant_id": "t",
                    "client_id": "c",
                },
            },
            "config.client_secret",
        ),
        ({"type": "s3", "config": {"bucket": "audit", "region": "EU_WEST"}}, "config.region"),
        (
            {
                "type": "syslog",
                "config": {"host": "h", "port": 514, "protocol": "tcp", "ca_file": "/c"},
            },
            "config",
        ),
        (
            {"type": "syslog", "config": {"host": "a b", "port": 514, "protocol": "tcp"}},
            "config.host",
        ),
        ({"config": SPLUNK}, "type"),
        # PostgreSQL cannot keep NUL in JSON: refused wherever it is, with its place named
        (
            {"type": "datadog", "config": {"api_key": "k", "tags": ["ok", "e\x00v"]}},
            "config.tags.1",
        ),
        ({"type": "splunk_hec", "config": {**SPLUNK, "index": "a\x00"}}, "config.index"),
        (
            {"type": "splunk_hec", "config": SPLUNK, "filters": {"action": "a\x00"}},
            "filters.action",
        ),
        (
            {
                "type": "elasticsearch",
                "config": {
                    "url": "https://93.184.215.14",
                    "index": "audit",
                    "username": "u",
                    "password": None,
                },
            },
            "config",
        ),
    ],
)
def test_invalid_streams_are_400_naming_the_field(
    api: Api, body: dict[str, Any], field: str | None
) -> None:
    response = api.post("/v1/streams", {"name": "x", **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    if field is not None:
        assert any(d.get("field", "").startswith(field) for d in error["details"]), error


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"stream"', b""])
def test_a_body_that_is_not_a_json_object_is_400(api: Api, body: bytes) -> None:
    response = api.client.post(
        "/v1/streams", content=body, headers={**api.auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_private_destinations_are_refused_by_default(api: Api) -> None:
    for config, kind in (
        ({"url": "http://127.0.0.1:8088", "token": "t"}, "splunk_hec"),
        ({"url": "http://169.254.169.254/latest"}, "webhook"),
        ({"host": "10.0.0.5", "port": 514, "protocol": "tcp"}, "syslog"),
        ({"bucket": "audit-bucket", "endpoint_url": "http://192.168.1.2:9000"}, "s3"),
    ):
        response = api.post("/v1/streams", {"name": "x", "type": kind, "config": config})
        assert response.status_code == 400, response.text
        assert "config." in response.json()["error"]["message"]


def test_scope_and_tenancy(api: Api, other_api: Api) -> None:
    stream = new_stream(api).json()
    reader = api.token_with("audit-log:list")
    response = api.client.get("/v1/streams", headers={"Authorization": f"Bearer {reader}"})
    assert response.status_code == 403
    manager = api.token_with("streams:manage")
    response = api.client.get("/v1/streams", headers={"Authorization": f"Bearer {manager}"})
    assert response.status_code == 200
    for path in ("", "/pause", "/resume", "/test"):
        method = other_api.get if path == "" else other_api.post
        assert method(f"/v1/streams/{stream['id']}{path}").status_code == 404
    assert other_api.delete(f"/v1/streams/{stream['id']}").status_code == 404
    assert other_api.get("/v1/streams").json()["data"] == []


def test_pause_resume_delete_and_self_audit(api: Api) -> None:
    stream = new_stream(api).json()
    sid = stream["id"]
    assert api.post(f"/v1/streams/{sid}/pause").json()["status"] == "paused"
    assert api.get(f"/v1/streams/{sid}").json()["status"] == "paused"
    assert api.post(f"/v1/streams/{sid}/resume").json()["status"] == "active"
    assert api.delete(f"/v1/streams/{sid}").json() == {"id": sid, "deleted": True}
    assert api.get(f"/v1/streams/{sid}").status_code == 404
    events = api.events(self_audit=True, order="asc", action="trailkeeper.stream.*")
    assert all(e["resource"] == {"type": "stream", "id": sid, "name": "siem"} for e in events)
    assert [e["action"] for e in events] == [
        "trailkeeper.stream.created", "trailkeeper.stream.paused",
        "trailkeeper.stream.resumed", "trailkeeper.stream.deleted",
    ]  # fmt: skip
