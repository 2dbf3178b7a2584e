"""Streams delivering to real receivers on 127.0.0.1, on SQLite and PostgreSQL:
every matching event arrives, first arrivals in seq order; throttling, busy
servers, payload limits, rejected credentials and an outage of the destination
lose nothing; a 400 (incorrect index) or 401 makes the stream ``failing`` with
Splunk's words in ``last_error``, and keeps its events. A supervisor runs in this
process, as in ``serve``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from siem import (
    HEC_BUSY,
    HEC_TOKEN,
    HttpReceiver,
    splunk_hec,
    throttled,
    too_large,
)
from streaming import assert_complete_in_order, supervising, wait_stream
from support import Api, delete_streams, make_event
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.streams.backoff import Backoff
from trailkeeper.streams.supervisor import StreamSupervisor


@pytest.fixture(autouse=True)
def _own_streams_only(service: Trailkeeper, api: Api) -> Iterator[None]:
    yield
    delete_streams(service, api)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Receivers listen on 127.0.0.1, which deployments refuse unless allowed."""
    return settings.model_copy(update={"allow_private_destinations": True, "outbound_timeout": 2.0})


@pytest.fixture
def streaming(service: Trailkeeper) -> Iterator[StreamSupervisor]:
    with supervising(service) as supervisor:
        yield supervisor


@pytest.fixture
def hec() -> Iterator[HttpReceiver]:
    with splunk_hec() as receiver:
        yield receiver


def create(api: Api, url: str, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "siem", "type": "splunk_hec", "start": "beginning",
        "config": {"url": url, "token": HEC_TOKEN}, **fields,
    }  # fmt: skip
    response = api.post("/v1/streams", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def events(count: int, start: int = 0, **fields: Any) -> list[dict[str, Any]]:
    return [make_event(start + i, **fields) for i in range(count)]


def seqs_of(envelopes: list[Any]) -> list[int]:
    return [int(e["event"]["seq"]) for e in envelopes]


def test_delivers_matching_events_in_seq_order(
    api: Api, hec: HttpReceiver, streaming: StreamSupervisor
) -> None:
    moved = api.ingest(*events(40, action="card.moved"))
    api.ingest(*events(10, start=100, action="pipe.created"))
    stream = create(api, hec.url, filters={"action": "card.*"})
    later = api.ingest(*events(25, start=200, action="card.created"))
    expected = [r["seq"] for r in moved + later]
    received = hec.wait_for(len(expected))
    assert_complete_in_order(seqs_of(received), expected)
    first = received[0]
    assert first["sourcetype"] == "trailkeeper:audit"
    assert first["source"] == "trailkeeper"
    assert first["event"]["id"] == "evt-0"
    assert first["time"] == pytest.approx(1794312000.0)  # 2026-11-10T12:00:00Z
    assert all(r.headers["authorization"] == f"Splunk {HEC_TOKEN}" for r in hec.requests)
    shown = wait_stream(api, stream["id"], lambda s: s["lag_events"] == 0)
    assert shown["delivered"] >= len(expected)
    assert shown["cursor_seq"] >= expected[-1]
    assert shown["status"] == "active"
    assert shown["last_delivery_at"] is not None


def test_busy_throttled_and_too_large_answers_lose_nothing(
    api: Api, hec: HttpReceiver, streaming: StreamSupervisor
) -> None:
    hec.script += [HEC_BUSY, throttled(1), too_large()]
    receipts = api.ingest(*events(30))
    create(api, hec.url, filters={"action": "card.moved"})
    received = hec.wait_for(30)
    assert_complete_in_order(seqs_of(received), [r["seq"] for r in receipts])
    assert len(hec.requests) >= 5  # 503, 429, 413, then the two halves
    sizes = [r.body.count(b'{"time"') for r in hec.requests]
    assert sizes[3] < sizes[2]  # split after the 413


def test_retry_after_is_honoured(api: Api, hec: HttpReceiver, streaming: StreamSupervisor) -> None:
    hec.script.append(throttled(2))
    api.ingest(*events(3))
    create(api, hec.url, filters={"action": "card.moved"})
    hec.wait_for(3)
    first, second = hec.requests[0], hec.requests[1]
    assert first.body == second.body  # the same batch again
    assert second.at - first.at >= 2  # not before the time the receiver asked for


def test_rejected_token_marks_failing_and_keeps_events(
    api: Api, streaming: StreamSupervisor
) -> None:
    with splunk_hec(token="not-the-streams-token") as hec:
        receipts = api.ingest(*events(12))
        stream = create(api, hec.url, filters={"action": "card.moved"})
        failing = wait_stream(api, stream["id"], lambda s: s["status"] == "failing")
        assert failing["status"] == "failing"
        assert failing["last_error"] == "Splunk HEC answered HTTP 403: Invalid token (code 4)"
        assert failing["delivered"] == 0
        assert failing["cursor_seq"] < receipts[0]["seq"]
        assert hec.events == []
        hec.token = HEC_TOKEN  # type: ignore[attr-defined]  # a person fixed the SIEM side
        assert api.post(f"/v1/streams/{stream['id']}/resume").status_code == 200
        received = hec.wait_for(12)
        assert_complete_in_order(seqs_of(received), [r["seq"] for r in receipts])
        healthy = wait_stream(api, stream["id"], lambda s: s["last_error"] is None)
        assert healthy["status"] == "active"
        assert healthy["delivered"] >= 12


def test_outage_of_the_destination_loses_nothing(
    api: Api, hec: HttpReceiver, streaming: StreamSupervisor
) -> None:
    stream = create(api, hec.url, filters={"action": "card.moved"}, start="now")
    first = api.ingest(*events(200))
    hec.wait_for(200)
    hec.stop()  # the SIEM goes away: connections are refused
    during = api.ingest(*events(300, start=1000))
    down = wait_stream(api, stream["id"], lambda s: s["last_error"] is not None)
    assert "could not connect to Splunk HEC" in down["last_error"]
    assert down["status"] == "active"  # an outage is retried, not a person's problem
    hec.start()  # back on the same port
    after = api.ingest(*events(100, start=2000))
    expected = [r["seq"] for r in first + during + after]
    received = hec.wait_for(len(expected))
    assert_complete_in_order(seqs_of(received), expected)
    assert len(set(seqs_of(received))) == 600


def test_pause_stops_delivery_and_resume_continues(
    api: Api, hec: HttpReceiver, streaming: StreamSupervisor
) -> None:
    stream = create(api, hec.url, filters={"action": "card.moved"}, start="now")
    first = api.ingest(*events(5))
    hec.wait_for(5)
    api.post(f"/v1/streams/{stream['id']}/pause")
    wait_stream(api, stream["id"], lambda s: s["status"] == "paused")
    while stream["id"] in streaming.running:  # its loop ends within one lease renewal
        time.sleep(0.02)
    paused = api.ingest(*events(5, start=10))
    assert len(hec.events) == 5
    api.post(f"/v1/streams/{stream['id']}/resume")
    received = hec.wait_for(10)
    assert_complete_in_order(seqs_of(received), [r["seq"] for r in first + paused])


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    backoff = Backoff(base=1, cap=8, random=lambda: 1.0)
    assert [backoff.next_delay(failing=False) for _ in range(5)] == [1, 2, 4, 8, 8]
    low = Backoff(base=1, cap=8, random=lambda: 0.0)
    assert [low.next_delay(failing=False) for _ in range(3)] == [0.5, 1, 2]
    assert low.next_delay(failing=False, retry_after=30) == 30
    assert Backoff(random=lambda: 1.0, failures=20).next_delay(failing=True) == 300


@pytest.mark.parametrize(
    ("config", "script", "error"),
    [
        (
            {"index": "secret-index"},
            [],
            "Splunk HEC answered HTTP 400: Incorrect index (code 7, invalid-event-number 0)",
        ),
        (
            {},
            [
                (
                    401,
                    {"Content-Type": "application/json"},
                    b'{"text":"Invalid authorization","code":3}',
                )
            ],
            "Splunk HEC answered HTTP 401: Invalid authorization (code 3)",
        ),
    ],
    ids=["400-incorrect-index", "401-invalid-authorization"],
)
def test_splunk_400_and_401_make_the_stream_failing_and_keep_events(
    api: Api,
    streaming: StreamSupervisor,
    config: dict[str, Any],
    script: list[Any],
    error: str,
) -> None:
    with splunk_hec(indexes=frozenset({"main", "audit"})) as hec:
        hec.script += script
        seqs = [r["seq"] for r in api.ingest(*events(8))]
        full = {"url": hec.url, "token": HEC_TOKEN, **config}
        stream = create(api, hec.url, filters={"action": "card.moved"}, config=full)
        failing = wait_stream(api, stream["id"], lambda s: s["status"] == "failing")
        assert (failing["status"], failing["last_error"]) == ("failing", error)
        assert failing["cursor_seq"] < seqs[0]
        if config:  # every try is refused until a person acts: nothing was taken
            assert hec.events == []
            return
        received = hec.wait_for(8)  # the next try goes through: active again
    assert_complete_in_order([e["event"]["seq"] for e in received], seqs)
    healthy = wait_stream(api, stream["id"], lambda s: s["status"] == "active")
    assert (healthy["status"], healthy["last_error"]) == ("active", None)
