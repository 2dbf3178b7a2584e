"""POST /v1/events on both backends: receipts, atomicity, idempotency, bad input."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import rfc8785

from support import Api, independent_leaf_hash, make_event


def test_batch_gets_gapless_seqs_in_request_order(api: Api) -> None:
    # seq 0 is the self-audit event of the admin token's creation
    receipts = api.ingest(*(make_event(i) for i in range(5)))
    assert [r["seq"] for r in receipts] == [1, 2, 3, 4, 5]
    assert [r["id"] for r in receipts] == [f"evt-{i}" for i in range(5)]
    assert all(len(r["leaf_hash"]) == 64 for r in receipts)
    assert api.ingest(make_event(9))[0]["seq"] == 6


def test_single_event_body_is_accepted(api: Api) -> None:
    response = api.post("/v1/events", make_event(1))
    assert response.status_code == 201
    assert response.json()["events"][0]["seq"] == 1


def test_server_assigns_uuid7_when_id_absent(api: Api) -> None:
    receipt = api.ingest(make_event(1, id=None))[0]
    assert len(receipt["id"]) == 36
    assert receipt["id"][14] == "7"


def test_normalization_and_defaults(api: Api) -> None:
    event = make_event(
        1, occurred_at="2026-11-20T10:45:12.5-03:00", source=None, ip="2001:DB8:0:0::1"
    )
    event["actor"] = {"id": "svc"}
    api.ingest(event)
    stored = api.get("/v1/events/evt-1").json()
    assert stored["occurred_at"] == "2026-11-20T13:45:12.500000Z"
    assert stored["category"] == "card"
    assert stored["source"] == "api"
    assert stored["actor"] == {"id": "svc", "type": "user", "name": None, "email": None}
    assert stored["ip"] == "2001:db8::1"
    assert stored["received_at"].endswith("Z")
    assert len(stored["received_at"]) == 27
    assert "pii_salt" not in stored


def test_leaf_hash_follows_the_contract(api: Api) -> None:
    run = {"id": "run_1", "flow": "SLA", "step": "send", "status": "failed", "error": "boom"}
    receipts = api.ingest(
        make_event(1, run=run, metadata={"n": 1.5, "big": 2**40, "ç": ["x", None]}),
        make_event(2, resource=None, changes=None, user_agent="curl/8"),
    )
    for receipt in receipts:
        event = api.get(f"/v1/events/{receipt['id']}").json()
        assert event["leaf_hash"] == receipt["leaf_hash"] == independent_leaf_hash(event)


def test_pii_commitment_uses_the_stored_salt(api: Api, service: Any) -> None:
    api.ingest(make_event(1, user_agent="Mozilla/5.0"))
    event = api.get("/v1/events/evt-1").json()
    tenant = service.store.tenant_by_name(api.tenant)
    salt = _salt_of(service, tenant.id, "evt-1")
    personal = {"email": "u1@example.com", "ip": "203.0.113.9", "name": "User 1",
                "user_agent": "Mozilla/5.0"}  # fmt: skip
    expected = hashlib.sha256(bytes.fromhex(salt) + rfc8785.dumps(personal)).hexdigest()
    assert event["pii"] == expected


def _salt_of(service: Any, tenant_id: int, event_id: str) -> str:
    store = service.store
    if store.backend == "sqlite":
        row = (
            store.conns.connection()
            .execute(
                "SELECT pii_salt FROM events WHERE tenant_id = ? AND id = ?", (tenant_id, event_id)
            )
            .fetchone()
        )
    else:
        with store.pool.connection() as conn:
            row = conn.execute(
                "SELECT pii_salt FROM events WHERE tenant_id = %s AND id = %s",
                (tenant_id, event_id),
            ).fetchone()
    return str(row[0])


def test_retry_with_same_content_returns_original_receipt(api: Api) -> None:
    first = api.ingest(make_event(1), make_event(2))
    again = api.ingest(make_event(2), make_event(3), make_event(1))
    assert again[0] == first[1]
    assert again[2] == first[0]
    assert again[1]["seq"] == first[1]["seq"] + 1
    assert len(api.events()) == 3


def test_same_id_other_content_is_409_and_stores_nothing(api: Api) -> None:
    api.ingest(make_event(1))
    response = api.post(
        "/v1/events", {"events": [make_event(5), make_event(1, action="card.deleted")]}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert response.json()["error"]["details"][0]["index"] == 1
    assert [e["id"] for e in api.events()] == ["evt-1"]


def test_duplicate_id_inside_one_batch(api: Api) -> None:
    receipts = api.ingest(make_event(1), make_event(1))
    assert receipts[0] == receipts[1]
    response = api.post("/v1/events", {"events": [make_event(2), make_event(2, action="x.y")]})
    assert response.status_code == 409
    assert len(api.events()) == 1


def test_one_invalid_event_rejects_the_whole_batch(api: Api) -> None:
    bad = make_event(2)
    bad["actor"].pop("id")
    bad["ip"] = "300.1.1.1"
    response = api.post("/v1/events", {"events": [make_event(1), bad, make_event(3)]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_event"
    assert {(d["index"], d["field"]) for d in error["details"]} == {(1, "actor.id"), (1, "ip")}
    assert all(d["message"] for d in error["details"])
    assert api.events() == []


# A day ahead, not minutes: the module is imported long before this test runs in a slow suite.
FUTURE = (datetime.now(UTC) + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"action": "Card.Moved"}, "action"),
        ({"action": "card..moved"}, "action"),
        ({"action": 7}, "action"),
        ({"occurred_at": "2026-11-20T13:45:12"}, "occurred_at"),
        ({"occurred_at": "2026-02-30T10:00:00Z"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": 1700000000}, "occurred_at"),
        ({"occurred_at": FUTURE}, "occurred_at"),
        ({"ip": "not-an-ip"}, "ip"),
        ({"source": "email"}, "source"),
        ({"actor": {"id": "u", "type": "robot"}}, "actor.type"),
        ({"actor": {"id": ""}}, "actor.id"),
        ({"actor": "ana"}, "actor"),
        ({"resource": {"type": "pipe"}}, "resource.id"),
        ({"changes": [{"old": 1}]}, "changes[0].field"),
        ({"metadata": [1, 2]}, "metadata"),
        ({"run": {"flow": "x"}}, "run.id"),
        ({"user_agent": "x" * 513}, "user_agent"),
        ({"id": "has space"}, "id"),
        ({"id": "x" * 129}, "id"),
        ({"category": "c" * 65}, "category"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_invalid_fields_are_named(api: Api, changes: dict[str, Any], field: str) -> None:
    response = api.post("/v1/events", make_event(1, **changes))
    assert response.status_code == 400, response.text
    body = response.json()["error"]
    assert body["code"] == "invalid_event"
    assert field in {d["field"] for d in body["details"]}
    assert api.events() == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[1, 2]",
        b'"text"',
        b'{"events": {}}',
        b'{"events": []}',
        b'{"events": [1], "extra": 1}',
        b"\xff\xfe",
    ],
)
def test_malformed_bodies_are_400(api: Api, body: bytes) -> None:
    response = api.client.post("/v1/events", content=body, headers=api.auth)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["message"]


def test_batch_of_1001_is_refused(api: Api) -> None:
    response = api.post("/v1/events", {"events": [make_event(i) for i in range(1001)]})
    assert response.status_code == 400
    assert "1000" in response.json()["error"]["message"].replace(",", "")
    assert api.events() == []


def test_event_over_64_kib_is_refused(api: Api) -> None:
    response = api.post("/v1/events", make_event(1, metadata={"blob": "x" * 70_000}))
    assert response.status_code == 400
    assert "64 KiB" in response.json()["error"]["details"][0]["message"]


def test_body_over_10_mib_is_413_before_parsing(api: Api) -> None:
    body = b'{"events": [' + b" " * (10 * 1024 * 1024 + 1) + b"]}"
    response = api.client.post("/v1/events", content=body, headers=api.auth)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_chunked_body_over_limit_is_413(api: Api) -> None:
    def chunks() -> Any:
        for _ in range(11):
            yield b" " * (1024 * 1024)

    response = api.client.post("/v1/events", content=chunks(), headers=api.auth)
    assert response.status_code == 413


def test_nul_characters_and_unsafe_integers_are_refused(api: Api) -> None:
    nul = api.post("/v1/events", make_event(1, metadata={"a": "x\u0000y"}))
    assert nul.status_code == 400
    big = api.client.post(
        "/v1/events",
        content=orjson.dumps(make_event(2, metadata={"n": 2**60})),
        headers={**api.auth, "Content-Type": "application/json"},
    )
    assert big.status_code == 400
    assert api.events() == []


def test_integers_beyond_64_bits_are_refused_not_rounded(api: Api) -> None:
    body = b'{"action": "a.b", "occurred_at": "2026-11-01T00:00:00Z", "actor": {"id": "x"}, '
    body += b'"metadata": {"big": 123456789012345678901234, "f": 0.5}}'
    response = api.client.post(
        "/v1/events", content=body, headers={**api.auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "string" in response.json()["error"]["details"][0]["message"]
