"""GET /v1/events and friends: filters, order, cursors, polling, facets, runs, download."""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

import orjson
import pytest

from support import Api, make_event
from trailkeeper.events.query import EventQuery
from trailkeeper.service import Trailkeeper
from trailkeeper.storage.postgres.store import PostgresStore


def _seed(api: Api) -> list[dict[str, Any]]:
    events = [
        make_event(0, action="card.moved"),
        make_event(1, action="card.created", source="api", ip="198.51.100.7"),
        make_event(2, action="cards.archived"),
        make_event(
            3,
            action="user.login.succeeded",
            resource=None,
            category="auth",
            actor={"id": "u_0", "name": "Élodie Martin"},
        ),
        make_event(
            4,
            action="pipe.field.updated",
            resource={"type": "pipe", "id": "p2", "name": "Purchases"},
            actor={"id": "u_ana", "name": "Ana SOUZA", "email": "ana@corp.example"},
        ),
        make_event(5, action="flow.run.step.succeeded", run={"id": "run_7", "step": "a"}),
        make_event(6, action="flow.run.completed", run={"id": "run_7", "status": "ok"}),
    ]
    api.ingest(*events)
    return events


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["id"] for e in events]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [6, 5, 4, 3, 2, 1, 0]),
        ({"order": "asc"}, [0, 1, 2, 3, 4, 5, 6]),
        ({"actor": "u_1"}, [1]),
        ({"actor": "u1@example.com"}, [1]),
        ({"actor": ["u_0", "u_ana"]}, [6, 4, 3, 0]),
        ({"action": "card.*"}, [1, 0]),
        ({"action": ["card.moved", "user.*"]}, [3, 0]),
        ({"action": "flow.run.*"}, [6, 5]),
        ({"category": "auth"}, [3]),
        ({"source": "api"}, [1]),
        ({"resource_type": "pipe", "resource_id": "p2"}, [4]),
        ({"resource_id": "p1", "action": "card.*"}, [1, 0]),
        ({"run_id": "run_7"}, [6, 5]),
        ({"ip": "198.51.100.7"}, [1]),
        ({"q": "souza"}, [4]),
        ({"q": "ANA@CORP"}, [4]),
        ({"q": "user 2"}, [5, 2]),
        ({"q": "u2"}, [5, 2]),
        ({"q": "é"}, [3]),
        ({"q": "ÉLO"}, [3]),
        ({"q": "souza ana"}, []),
        ({"q": "2 u2@"}, []),
        ({"q": "%"}, []),
        ({"q": "_"}, []),
        ({"q": "'; DROP TABLE events; --"}, []),
        ({"start": "2026-11-10T12:02:00Z", "end": "2026-11-10T12:04:00Z"}, [4, 3, 2]),
        ({"start": "2026-11-10", "end": "2026-11-10"}, [6, 5, 4, 3, 2, 1, 0]),
        ({"start": "2026-11-11"}, []),
        ({"end": "2026-11-09"}, []),
    ],
)
def test_filters(api: Api, params: dict[str, Any], expected: list[int]) -> None:
    _seed(api)
    assert _ids(api.events(**params)) == [f"evt-{i}" for i in expected]


def test_date_only_end_covers_the_whole_utc_day(api: Api) -> None:
    api.ingest(
        make_event(1, occurred_at="2026-11-10T23:59:59.999999Z"),
        make_event(2, occurred_at="2026-11-11T00:00:00Z"),
        make_event(3, occurred_at="2026-11-10T00:00:00Z"),
        make_event(4, occurred_at="2026-11-09T23:59:59.999999Z"),
    )
    assert _ids(api.events(start="2026-11-10", end="2026-11-10", order="asc")) == [
        "evt-1",
        "evt-3",
    ]


def test_other_tenants_events_are_invisible(api: Api, other_api: Api) -> None:
    _seed(api)
    assert other_api.events() == []
    assert other_api.get("/v1/events/evt-1").status_code == 404
    assert other_api.get("/v1/runs/run_7").status_code == 404


def test_pages_walk_every_event_once_in_both_orders(api: Api) -> None:
    api.ingest(*(make_event(i) for i in range(23)))
    for order in ("desc", "asc"):
        seen: list[int] = []
        params: dict[str, Any] = {"limit": 5, "order": order, "category": "card"}
        pages = 0
        while True:
            response = api.get("/v1/events", params=params)
            body = response.json()
            seen.extend(e["seq"] for e in body["data"])
            pages += 1
            if not body["has_more"]:
                assert "link" not in response.headers
                break
            assert response.headers["link"].endswith('>; rel="next"')
            assert "cursor=" in response.headers["link"]
            params["cursor"] = body["next_cursor"]
        assert pages == 5
        expected = list(range(1, 24))
        assert seen == (expected if order == "asc" else expected[::-1])


def test_link_header_is_followable(api: Api) -> None:
    api.ingest(*(make_event(i) for i in range(4)))
    first = api.get("/v1/events", params={"limit": 1, "actor": "u_0"})
    url = first.headers["link"].split(";")[0].strip("<>")
    second = api.client.get(url, headers=api.auth)
    assert second.status_code == 200
    assert _ids(second.json()["data"]) == ["evt-0"]


def test_polling_with_asc_cursor_sees_only_new_events(api: Api) -> None:
    params = {"order": "asc", "action": "card.*", "limit": 3}
    empty = api.get("/v1/events", params=params).json()
    assert empty == {"data": [], "next_cursor": empty["next_cursor"], "has_more": False}
    assert empty["next_cursor"]
    api.ingest(*(make_event(i) for i in range(4)))
    cursor = empty["next_cursor"]
    collected: list[str] = []
    for batch in ([4, 5], [], [6]):
        if batch:
            api.ingest(*(make_event(i) for i in batch))
        while True:
            body = api.get("/v1/events", params={**params, "cursor": cursor}).json()
            collected.extend(_ids(body["data"]))
            cursor = body["next_cursor"]
            assert cursor
            if not body["has_more"]:
                break
    assert collected == [f"evt-{i}" for i in range(7)]


def test_desc_last_page_has_no_cursor(api: Api) -> None:
    api.ingest(make_event(1))
    body = api.get("/v1/events", params={"action": "card.moved"}).json()
    assert body["next_cursor"] is None
    assert body["has_more"] is False


def _cursor(api: Api, **params: Any) -> str:
    api.ingest(*(make_event(i) for i in range(3)))
    return str(api.get("/v1/events", params={"limit": 1, **params}).json()["next_cursor"])


def _tamper(cursor: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-20] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "mangle",
    [
        _tamper,
        lambda c: c[:-3],
        lambda c: c[:10],
        lambda c: "garbage!!",
        lambda c: base64.urlsafe_b64encode(orjson.dumps([1, 1, "desc", "x", 0])).decode(),
        lambda c: "",
    ],
)
def test_forged_or_truncated_cursors_are_400(api: Api, mangle: Any) -> None:
    cursor = mangle(_cursor(api))
    response = api.get("/v1/events", params={"limit": 1, "cursor": cursor})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_cursor_is_bound_to_its_filters_order_and_tenant(api: Api, other_api: Api) -> None:
    cursor = _cursor(api, actor="u_0")
    for params in ({"actor": "u_1"}, {}, {"actor": "u_0", "order": "asc"}):
        response = api.get("/v1/events", params={"limit": 1, "cursor": cursor, **params})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_cursor"
    foreign = other_api.get("/v1/events", params={"limit": 1, "cursor": cursor, "actor": "u_0"})
    assert foreign.status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": -5},
        {"limit": 1000},
        {"limit": 10**30},
        {"limit": "ten"},
        {"order": "sideways"},
        {"start": "2026-02-30"},
        {"start": "2026-11-10T25:00:00Z"},
        {"start": "last week"},
        {"end": "2026-11-10T10:00:00"},
        {"start": "2026-11-11", "end": "2026-11-10"},
        {"q": "x" * 300},
        {"ip": "1.2.3.999"},
        {"actr": "typo"},
        {"order": ["asc", "desc"]},
    ],
)
def test_bad_list_parameters_are_400(api: Api, params: dict[str, Any]) -> None:
    response = api.get("/v1/events", params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"]


def test_limit_999_is_allowed(api: Api) -> None:
    assert api.get("/v1/events", params={"limit": 999}).status_code == 200


def test_get_one_event(api: Api) -> None:
    _seed(api)
    event = api.get("/v1/events/evt-4").json()
    assert event["actor"]["name"] == "Ana SOUZA"
    assert event["resource"] == {"type": "pipe", "id": "p2", "name": "Purchases"}
    assert api.get("/v1/events/nope").json()["error"]["code"] == "not_found"


def test_facets(api: Api) -> None:
    _seed(api)
    actors = api.get("/v1/facets/actor").json()["data"]
    counts = {a["id"]: a["count"] for a in actors if a["id"] != "trailkeeper-cli"}
    assert counts == {"u_0": 3, "u_1": 1, "u_2": 2, "u_ana": 1}
    sources = api.get("/v1/facets/source", params={"action": "card.*"}).json()["data"]
    assert sources == [{"value": "api", "count": 1}, {"value": "web", "count": 1}]
    resources = api.get("/v1/facets/resource", params={"resource_type": "pipe"}).json()["data"]
    assert {(r["id"], r["count"]) for r in resources} == {("p1", 5), ("p2", 1)}
    assert api.get("/v1/facets/color").status_code == 404


def test_run_timeline(api: Api) -> None:
    _seed(api)
    body = api.get("/v1/runs/run_7").json()
    assert body["run_id"] == "run_7"
    assert [e["action"] for e in body["data"]] == ["flow.run.step.succeeded", "flow.run.completed"]
    assert api.get("/v1/runs/run_missing").status_code == 404


def test_download_jsonl_and_csv(api: Api) -> None:
    _seed(api)
    api.ingest(make_event(9, actor={"id": "=cmd|' /C calc'!A0", "name": "+Bob", "email": "-x"}))
    jsonl = api.get("/v1/events/download", params={"format": "jsonl", "order": "asc"})
    assert jsonl.status_code == 200
    lines = [orjson.loads(line) for line in jsonl.content.splitlines()]
    listed = api.events(order="asc", self_audit=True)
    assert lines == listed
    csv_response = api.get("/v1/events/download", params={"format": "csv", "actor": "u_ana"})
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_response.text)))
    assert rows[0][:6] == [
        "timestamp",
        "user",
        "user_email",
        "actor_id",
        "actor_type",
        "event_type",
    ]
    assert len(rows[0]) == 23
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["user"] == "Ana SOUZA"
    assert record["resource_id"] == "p2"
    assert record["pii_salt"] == ""
    assert record["ip"] == "203.0.113.9"
    nasty = api.get("/v1/events/download", params={"format": "csv", "actor": "=cmd|' /C calc'!A0"})
    row = dict(zip(*list(csv.reader(io.StringIO(nasty.text))), strict=True))
    assert row["actor_id"] == "'=cmd|' /C calc'!A0"
    assert row["user"] == "'+Bob"
    assert row["user_email"] == "'-x"


def test_download_refuses_more_than_the_cap(api: Api, service: Any) -> None:
    service.reads.download_cap = 5
    _seed(api)
    response = api.get("/v1/events/download", params={"format": "csv"})
    assert response.status_code == 400
    assert "/v1/exports" in response.json()["error"]["message"]
    small = api.get("/v1/events/download", params={"format": "jsonl", "run_id": "run_7"})
    assert len(small.content.splitlines()) == 2
    assert api.get("/v1/events/download", params={"format": "xml"}).status_code == 400


@pytest.mark.parametrize("params", [{"q": "rare one"}, {"actor": ["u_rare_a", "u_rare_b"]}])
def test_a_few_rare_actors_page_in_seq_order(api: Api, params: dict[str, Any]) -> None:
    """Filters that match a few actors with few events (under 2% of the log), which
    PostgreSQL pages by merging each actor's own index scan: every match once, in order,
    across pages, in both orders."""
    a = {"id": "u_rare_a", "name": "Rare One A"}
    b = {"id": "u_rare_b", "name": "Rare One B"}
    rare = dict.fromkeys((37, 151, 260, 399, 500, 640), a) | dict.fromkeys((150, 261, 262, 700), b)
    common = {"id": "u_common", "name": "Common Person"}
    api.ingest(*(make_event(i, actor=rare.get(i, common)) for i in range(800)))
    matches = sorted(i + 1 for i in rare)  # seq 0 is the admin token's self-audit event
    for order in ("desc", "asc"):
        seen: list[int] = []
        query: dict[str, Any] = {**params, "limit": 2, "order": order}
        while True:
            body = api.get("/v1/events", params=query).json()
            seen.extend(e["seq"] for e in body["data"])
            if not body["has_more"]:
                break
            query["cursor"] = body["next_cursor"]
        assert seen == (matches if order == "asc" else matches[::-1])


@pytest.mark.parametrize(
    "action",
    [["card.*"], ["flow.run.*"], ["card.moved", "user.*"], ["card.created"], ["nope.*"]],
)
def test_action_prefixes_page_in_seq_order(api: Api, action: list[str]) -> None:
    """An ``action`` filter alone, which PostgreSQL pages by merging each matching
    action's own index scan: every match once, in order, across pages, in both orders,
    exactly the events a client-side filter of the whole log keeps (``cards.archived`` and
    ``card`` are not ``card.*``)."""
    cycle = [
        "card.moved", "user.login.succeeded", "card.moved", "cards.archived", "flow.run.completed",
        "card", "card.moved", "flow.run.step.succeeded", "user.created", "card.moved",
    ]  # fmt: skip
    actions = {i: cycle[i % len(cycle)] for i in range(300)}
    for i in (17, 155, 156, 290):
        actions[i] = "card.created"  # rare, between common ones
    api.ingest(*(make_event(i, action=actions[i]) for i in range(300)))

    def wanted(name: str) -> bool:
        return any(name.startswith(a[:-1]) if a.endswith("*") else name == a for a in action)

    matches = sorted(i + 1 for i, name in actions.items() if wanted(name))  # seq 0: self-audit
    for order in ("desc", "asc"):
        seen: list[int] = []
        query: dict[str, Any] = {"action": action, "limit": 7, "order": order}
        while True:
            body = api.get("/v1/events", params=query).json()
            seen.extend(e["seq"] for e in body["data"])
            if not body["has_more"]:
                break
            query["cursor"] = body["next_cursor"]
        assert seen == (matches if order == "asc" else matches[::-1])


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("params", [{"q": ["user"]}, {"action": ["card.*"]}])
def test_a_merged_page_keeps_its_planner_setting_to_its_own_transaction(
    api: Api, service: Trailkeeper, pg_url: str, params: dict[str, list[str]]
) -> None:
    """Merged pages turn bitmap scans off with SET LOCAL: the pooled connection the next
    query gets is as it was."""
    api.ingest(*(make_event(i) for i in range(5)))
    store = PostgresStore(pg_url, pool_size=1)
    try:
        tenant = service.tenancy.tenant(api.tenant)
        page = store.page(tenant.id, EventQuery.from_params(params), None, 3)
        assert len(page) == 3
        with store.pool.connection() as conn:
            row = conn.execute("SHOW enable_bitmapscan").fetchone()
        assert row is not None
        assert row[0] == "on"
    finally:
        store.close()
