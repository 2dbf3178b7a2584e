"""POST /v1/events: hard edges of the body (issue 10), each answered by name."""

from __future__ import annotations

import gzip
import os
import random
import tracemalloc
from typing import Any

import httpx
import orjson
import pytest

from support import Api, LiveServer, make_event
from trailkeeper.api.admission import InFlight
from trailkeeper.api.app import create_app
from trailkeeper.errors import InvalidRequest, RateLimited
from trailkeeper.events.body import (
    MAX_JSON_VALUES,
    _punctuation,
    _punctuation_total,
    parse_json,
)
from trailkeeper.service import Trailkeeper

JSON = {"Content-Type": "application/json"}


def _post(api: Api, body: bytes, **headers: str) -> Any:
    return api.client.post("/v1/events", content=body, headers={**api.auth, **JSON, **headers})


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("depth", [254, 300, 2000])
def test_deep_json_is_refused_as_too_deep(api: Api, depth: int) -> None:
    body = orjson.dumps(make_event(1, metadata=_nested(3))).replace(
        b'{"a":{"a":{}}}', b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)
    )
    response = _post(api, body)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "levels deep" in message
    assert "2**53" not in response.text
    assert api.events() == []


def test_depth_within_the_limit_is_accepted(api: Api) -> None:
    assert api.ingest(make_event(1, metadata=_nested(200)))[0]["seq"] == 1


def test_413_says_the_events_are_too_big_not_too_many(api: Api) -> None:
    big = {"blob": "x" * 60_000}
    body = orjson.dumps({"events": [make_event(i, metadata=big) for i in range(180)]})
    response = _post(api, body)
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert "too big" in message
    assert "at most 1,000 events" not in message


def test_gzip_body_without_the_header_is_named(api: Api) -> None:
    response = _post(api, gzip.compress(orjson.dumps(make_event(1))))
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "gzip" in message
    assert "Content-Encoding" in message
    assert "UTF-8" not in message


def test_gzip_body_with_the_header_is_ingested(api: Api) -> None:
    body = orjson.dumps({"events": [make_event(i) for i in range(3)]})
    response = _post(api, gzip.compress(body), **{"Content-Encoding": "gzip"})
    assert response.status_code == 201, response.text
    assert [e["id"] for e in api.events()] == ["evt-2", "evt-1", "evt-0"]


def test_gzip_limits_apply_after_decompression(api: Api) -> None:
    # ~11 MiB of events that compress to ~6 MiB: under the limit as sent, over it inflated
    blobs = [os.urandom(25_000).hex() for _ in range(230)]
    events = [make_event(i, metadata={"blob": blob}) for i, blob in enumerate(blobs)]
    plain = orjson.dumps({"events": events})
    assert len(plain) > 10 * 1024 * 1024
    response = _post(api, gzip.compress(plain), **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "decompressed" in response.json()["error"]["message"]
    assert api.events() == []


def test_gzip_ratio_is_capped(api: Api) -> None:
    bomb = gzip.compress(b"[" + b" " * 5_000_000 + b"]")
    response = _post(api, bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "times" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("encoding", "body", "words"),
    [("br", b"{}", "not supported"), ("gzip", b"not gzip", "corrupt"),
     ("gzip", gzip.compress(b'{"a": 1}', mtime=0)[:-9], "truncated")],
)  # fmt: skip
def test_bad_encodings_are_400(api: Api, encoding: str, body: bytes, words: str) -> None:
    response = _post(api, body, **{"Content-Encoding": encoding})
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]


def test_occurred_at_with_a_trailing_newline_is_refused(api: Api) -> None:
    response = api.post("/v1/events", make_event(1, occurred_at="2026-11-20T13:45:12Z\n"))
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "occurred_at"


@pytest.mark.parametrize(
    "body",
    [
        b'{"action": "a.b", "action": "c.d", "occurred_at": "2026-11-01T00:00:00Z", '
        b'"actor": {"id": "x"}}',
        b'{"action": "a.b", "occurred_at": "2026-11-01T00:00:00Z", '
        b'"actor": {"id": "x", "id": "y"}}',
        b'{"events": [{"action": "a.b", "occurred_at": "2026-11-01T00:00:00Z", '
        b'"actor": {"id": "x"}, "metadata": {"k": 1, "k": 2}}]}',
        # an escaped colon must not hide a dropped key from the count
        b'{"action": "a.b", "occurred_at": "2026-11-01T00:00:00Z", "actor": {"id": "x"}, '
        b'"metadata": {"k": "\\u003a", "k": 2}}',
    ],
)
def test_duplicate_keys_are_refused(api: Api, body: bytes) -> None:
    response = _post(api, body)
    assert response.status_code == 400, response.text
    assert "twice" in response.json()["error"]["message"]
    assert api.events() == []


def test_colons_in_strings_and_escapes_are_not_duplicates(api: Api) -> None:
    body = (
        b'{"id": "a:b:c", "action": "a.b", "occurred_at": "2026-11-01T00:00:00Z", '
        b'"actor": {"id": "x\\u003ay"}, "metadata": {"url": "http://h:1/", "k\\u003a": 1}}'
    )
    assert _post(api, body).status_code == 201


def test_duplicate_id_in_one_batch_names_the_batch_not_a_seq(api: Api) -> None:
    response = api.post("/v1/events", {"events": [make_event(2), make_event(2, action="x.y")]})
    assert response.status_code == 409
    error = response.json()["error"]
    assert "twice in this batch" in error["message"]
    assert "seq" not in error["message"]
    assert error["details"][0]["index"] == 1


def test_many_tiny_values_are_refused_before_parsing() -> None:
    body = b'{"events": [' + b",".join([b'{"a":{"b":{}}}'] * 750_000) + b"]}"
    assert len(body) > 10_000_000
    tracemalloc.start()
    try:
        with pytest.raises(InvalidRequest, match="JSON values"):
            parse_json(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(body)  # parsed, this is ~30x the body


def test_punctuation_inside_strings_does_not_count_as_values() -> None:
    text = orjson.dumps({"blob": ",:" * (MAX_JSON_VALUES // 2 + 10)})
    assert parse_json(text) == orjson.loads(text)


@pytest.mark.parametrize("size", [0, 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) - 7])
def test_punctuation_counted_in_one_pass_is_the_four_counts(size: int) -> None:
    text = random.Random(size).randbytes(size)
    assert _punctuation_total(text) == _punctuation(text, 0, size)


def test_ingest_bodies_in_flight_are_capped() -> None:
    inflight = InFlight(budget=100)
    with inflight.admit(80):
        with pytest.raises(RateLimited) as refused, inflight.admit(30):
            pass
        assert refused.value.headers["Retry-After"] == "1"
        with inflight.admit(20):
            pass
    with inflight.admit(500):  # alone, a body larger than the budget still goes through
        assert inflight.used == 500
    assert inflight.used == 0


def test_over_the_budget_is_429_with_retry_after(service: Trailkeeper) -> None:
    app = create_app(service)
    token = service.tenancy.create_tenant("inflight")["admin_token"]
    auth = {"Authorization": f"Bearer {token}", **JSON}
    inflight: InFlight = app.state.ingest_inflight
    inflight.used = inflight.budget  # as if other bodies were being parsed right now
    with LiveServer(app) as base_url, httpx.Client(base_url=base_url) as client:
        body = orjson.dumps(make_event(1))
        response = client.post("/v1/events", content=body, headers=auth)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "1"
        assert response.json()["error"]["code"] == "rate_limited"
        inflight.used = 0
        response = client.post("/v1/events", content=body, headers=auth)
        assert response.status_code == 201
