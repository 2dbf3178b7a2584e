"""POST/GET /v1/erasures: an actor's personal data leaves every event, the
dictionaries and the search; pii, seq and leaf_hash stay, and proofs still hold."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from support import Api, independent_leaf_hash, make_event
from trailkeeper.service import Trailkeeper
from trailkeeper.verify import verify_tenant

CLI = Path(sys.executable).with_name("trailkeeper")
PERSONAL = ("ip", "user_agent")


def _events(count: int) -> list[dict[str, Any]]:
    """Recent events (inside the export window) of actors u_0, u_1, u_2."""
    base = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    base -= timedelta(days=2)
    return [
        make_event(
            i,
            occurred_at=(base + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            user_agent=f"agent/{i}",
        )
        for i in range(count)
    ]


def _erase(api: Api, service: Trailkeeper, actor_id: str) -> dict[str, Any]:
    response = api.post("/v1/erasures", {"actor_id": actor_id})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    assert service.erasures.run_all() >= 1
    done: dict[str, Any] = api.get(f"/v1/erasures/{response.json()['id']}").json()
    assert done["status"] == "succeeded", done
    return done


def test_erasure_nulls_personal_data_and_keeps_hashes(api: Api, service: Trailkeeper) -> None:
    api.ingest(*_events(12))
    before = {e["id"]: e for e in api.events(order="asc")}
    done = _erase(api, service, "u_0")
    assert (done["events_total"], done["events_erased"]) == (4, 4)
    after = {e["id"]: e for e in api.events(order="asc")}
    for event_id, event in after.items():
        old = before[event_id]
        assert (event["seq"], event["pii"], event["leaf_hash"]) == (
            old["seq"], old["pii"], old["leaf_hash"])  # fmt: skip
        if event["actor"]["id"] == "u_0":
            assert event["pii_erased"] is True
            assert (event["actor"]["name"], event["actor"]["email"]) == (None, None)
            assert all(event[k] is None for k in PERSONAL)
            event.pop("pii_erased")
            assert independent_leaf_hash(event) == event["leaf_hash"]
        else:
            assert "pii_erased" not in event
            assert event["actor"]["name"] == old["actor"]["name"]
            assert event["ip"] == old["ip"]
    single = api.get(f"/v1/events/{next(iter(after))}").json()
    assert single.get("pii_erased") is True


def test_search_by_an_erased_name_or_email_finds_nothing(api: Api, service: Trailkeeper) -> None:
    api.ingest(*_events(9))
    assert api.events(q="User 0")
    assert api.events(q="u0@exam")
    _erase(api, service, "u_0")
    for term in ("User 0", "u0@exam", "u0@example.com", "ser 0", "U0"):
        assert api.events(q=term) == [], term
    assert api.events(actor="u0@example.com") == []
    assert len(api.events(actor="u_0")) == 3  # the pseudonymous id remains
    assert len(api.events(q="User 1")) == 3
    facets = api.get("/v1/facets/actor")
    assert facets.status_code == 200, facets.text
    assert {a["id"] for a in facets.json()["data"]} >= {"u_0", "u_1"}
    assert "u0@example.com" not in facets.text
    assert "User 0" not in facets.text


def test_erasure_is_self_audited_without_the_erased_values(api: Api, service: Trailkeeper) -> None:
    api.ingest(*_events(6))
    done = _erase(api, service, "u_0")
    audit = api.events(self_audit=True, action="trailkeeper.erasure.performed")
    assert len(audit) == 1
    assert audit[0]["metadata"] == {"erasure_id": done["id"], "actor_id": "u_0",
                                    "events_erased": 2}  # fmt: skip
    text = orjson.dumps(audit[0]).decode()
    for erased in ("User 0", "u0@example.com", "203.0.113.9"):
        assert erased not in text


def test_unknown_actor_is_404_and_makes_no_job(api: Api, service: Trailkeeper) -> None:
    api.ingest(*_events(3))
    response = api.post("/v1/erasures", {"actor_id": "u_nobody"})
    assert response.status_code == 404, response.text
    assert "u_nobody" in response.json()["error"]["message"]
    assert service.erasures.run_all() == 0
    assert api.get("/v1/erasures/era_missing").status_code == 404


def test_bad_erasure_bodies_are_400(api: Api) -> None:
    for body in ({}, {"actor_id": ""}, {"actor_id": 5}, {"actor_id": "u", "x": 1}, [1]):
        response = api.post("/v1/erasures", body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] == "invalid_request"


def test_two_requests_for_one_actor_make_one_job(api: Api, service: Trailkeeper) -> None:
    api.ingest(*_events(6))
    ids: list[str] = []

    def request() -> None:
        response = api.post("/v1/erasures", {"actor_id": "u_1"})
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1
    assert service.erasures.run_all() == 1
    assert len(api.events(self_audit=True, action="trailkeeper.erasure.performed")) == 1
    again = api.post("/v1/erasures", {"actor_id": "u_1"}).json()  # a later request: a new job
    assert again["id"] != ids[0]


def test_exports_carry_nulls_and_verify_offline(
    api: Api, service: Trailkeeper, tmp_path: Path
) -> None:
    api.ingest(*_events(9))
    _erase(api, service, "u_2")
    export = api.post("/v1/exports", {"format": "jsonl"}).json()
    assert service.export_runner.run_all() >= 1
    done = api.get(f"/v1/exports/{export['id']}").json()
    file, manifest = tmp_path / "e.jsonl", tmp_path / "e.jsonl.manifest.json"
    file.write_bytes(api.client.get(done["download_url"]).content)
    manifest.write_bytes(api.client.get(done["manifest_url"]).content)
    lines = [orjson.loads(line) for line in file.read_bytes().splitlines()]
    erased = [e for e in lines if e["actor"]["id"] == "u_2"]
    assert len(erased) == 3
    for event in erased:
        assert (event["pii_salt"], event["ip"], event["user_agent"]) == (None, None, None)
        assert (event["actor"]["name"], event["actor"]["email"]) == (None, None)
    assert all(e["pii_salt"] for e in lines if e["actor"]["id"] != "u_2")
    key = api.get("/v1/public-key").json()["verifier_key"]
    command = [str(CLI), "verify-export", str(file), "--public-key", key]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_stored_log_still_verifies_after_erasure(api: Api, service: Trailkeeper) -> None:
    api.ingest(*_events(20))
    tenant = service.tenancy.tenant(api.tenant)
    service.integrity.sync(tenant.id)
    _erase(api, service, "u_1")
    service.integrity.sync(tenant.id)
    report = verify_tenant(service.store, tenant, service.integrity.signer.verifier())
    assert report.ok, report.problems
