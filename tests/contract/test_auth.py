"""Tokens, scopes, tenant isolation, rate limits and self-audit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from support import Api, LiveServer, make_event
from trailkeeper.api import create_app
from trailkeeper.ratelimit import RateLimiter
from trailkeeper.service import Trailkeeper


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer tk_short",
        "Basic dXNlcjpwYXNz",
        "Bearer " + "tk_" + "a" * 43,
        "tk_" + "a" * 43,
    ],
)
def test_missing_or_bad_tokens_are_401(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = api.client.get("/v1/events", headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthenticated"
    assert "Bearer" in error["message"] or "revoked" in error["message"]


@pytest.mark.parametrize(
    ("scope", "method", "path", "allowed"),
    [
        ("events:write", "POST", "/v1/events", True),
        ("events:write", "GET", "/v1/events", False),
        ("audit-log:list", "GET", "/v1/events", True),
        ("audit-log:list", "POST", "/v1/events", False),
        ("audit-log:list", "GET", "/v1/facets/action", True),
        ("audit-log:list", "GET", "/v1/events/download", True),
        ("audit-log:list", "GET", "/v1/tokens", False),
        ("audit-log:export", "GET", "/v1/events", False),
        ("tokens:manage", "GET", "/v1/tokens", True),
        ("tokens:manage", "GET", "/v1/events/evt-1", False),
        ("admin", "GET", "/v1/runs/none", True),
    ],
)
def test_scopes_are_enforced(api: Api, scope: str, method: str, path: str, allowed: bool) -> None:
    token = api.token_with(scope)
    body = make_event(1) if method == "POST" else None
    response = api.client.request(
        method, path, json=body, headers={"Authorization": f"Bearer {token}"}
    )
    if allowed:
        assert response.status_code in (200, 201, 404), response.text
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
        assert "scope" in response.json()["error"]["message"]


def test_token_lifecycle_over_the_api(api: Api) -> None:
    created = api.post("/v1/tokens", {"name": "siem", "scopes": ["audit-log:list"]})
    assert created.status_code == 201
    token = created.json()
    assert token["token"].startswith("tk_")
    assert len(token["token"]) >= 35
    listed = api.get("/v1/tokens").json()["data"]
    assert {t["name"] for t in listed} == {"admin", "siem"}
    assert all("token" not in t and "hash" not in str(t) for t in listed)
    reader = {"Authorization": f"Bearer {token['token']}"}
    assert api.client.get("/v1/events", headers=reader).status_code == 200
    revoked = api.delete(f"/v1/tokens/{token['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert api.client.get("/v1/events", headers=reader).status_code == 401
    actions = [e["action"] for e in api.events(self_audit=True, category="trailkeeper")]
    assert actions == ["trailkeeper.token.revoked", "trailkeeper.token.created",
                       "trailkeeper.token.created"]  # fmt: skip
    audit = api.events(self_audit=True, action="trailkeeper.token.revoked")[0]
    assert audit["actor"]["type"] == "service_account"
    assert audit["resource"] == {"type": "token", "id": token["id"], "name": "siem"}


def test_another_tenants_token_is_404(api: Api, other_api: Api) -> None:
    token_id = api.post("/v1/tokens", {"name": "x", "scopes": ["admin"]}).json()["id"]
    assert other_api.delete(f"/v1/tokens/{token_id}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": ["root"]},
        {"name": "", "scopes": ["admin"]},
        {"name": "x"},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["admin"], "extra": 1},
        [1],
    ],
)
def test_bad_token_requests_are_400(api: Api, body: Any) -> None:
    response = api.post("/v1/tokens", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def _one_window(*services: Trailkeeper) -> None:
    """Count every request in one fixed window: a real clock may cross a minute boundary
    between the requests of a test on a slow machine (the window would then start over)."""
    for limited in services:
        limited.limiter = RateLimiter(limited.store, clock=lambda: 1_900_000_000.0)


def test_rate_limit_headers_and_429(service: Trailkeeper, api: Api) -> None:
    limited = Trailkeeper(
        service.settings.model_copy(update={"read_rate_limit": 3}),
        service.store,
        service.key,
        service.integrity.signer,
    )
    _one_window(limited)
    with LiveServer(create_app(limited)) as url, httpx.Client(base_url=url) as http:
        statuses = []
        for _ in range(4):
            response = http.get("/v1/events", headers=api.auth)
            statuses.append(response.status_code)
        assert statuses == [200, 200, 200, 429]
        assert response.json()["error"]["code"] == "rate_limited"
        retry = int(response.headers["retry-after"])
        assert retry == 20  # the fixed clock is 40 s into its window
        assert response.headers["x-retry-after"] == str(retry)
        assert response.headers["x-rate-limit-remaining"] == "0"
        ok = http.get("/v1/events", headers={"Authorization": f"Bearer {api.token_with('admin')}"})
        assert ok.headers["x-rate-limit-limit"] == "3"
        assert ok.headers["x-rate-limit-remaining"] == "2"
        assert 1 <= int(ok.headers["x-rate-limit-reset"]) <= 60
        ingest = http.post("/v1/events", json=make_event(1), headers=api.auth)
        assert ingest.status_code == 201, "ingest has its own, separate limit"


def test_rate_limits_are_shared_between_processes(service: Trailkeeper, api: Api) -> None:
    """Two apps (as two processes would) over one database count the same window."""
    settings = service.settings.model_copy(update={"read_rate_limit": 4})
    first = Trailkeeper(settings, service.store, service.key, service.integrity.signer)
    second = Trailkeeper(settings, service.store, service.key, service.integrity.signer)
    _one_window(first, second)
    with LiveServer(create_app(first)) as one, LiveServer(create_app(second)) as two:
        codes = [httpx.get(f"{url}/v1/events", headers=api.auth).status_code
                 for url in (one, two, one, two, one)]  # fmt: skip
    assert codes == [200, 200, 200, 200, 429]


def test_a_token_cannot_grant_scopes_it_lacks(api: Api) -> None:
    manager = {"Authorization": f"Bearer {api.token_with('tokens:manage')}"}
    escalate = api.client.post(
        "/v1/tokens", json={"name": "x", "scopes": ["admin"]}, headers=manager
    )
    assert escalate.status_code == 403
    same = api.client.post(
        "/v1/tokens", json={"name": "x", "scopes": ["tokens:manage"]}, headers=manager
    )
    assert same.status_code == 201


def test_revoking_twice_changes_and_audits_nothing(api: Api) -> None:
    token_id = api.post("/v1/tokens", {"name": "x", "scopes": ["admin"]}).json()["id"]
    first = api.delete(f"/v1/tokens/{token_id}").json()
    second = api.delete(f"/v1/tokens/{token_id}").json()
    assert first == second
    assert len(api.events(self_audit=True, action="trailkeeper.token.revoked")) == 1


def test_a_token_cannot_revoke_tokens_with_scopes_it_lacks(api: Api) -> None:
    """Revoking needs the revoked token's scopes, as granting does: a ``tokens:manage``
    token cannot lock the tenant's admins out."""
    manager = {"Authorization": f"Bearer {api.token_with('tokens:manage')}"}
    admin_id = api.post("/v1/tokens", {"name": "root", "scopes": ["admin"]}).json()["id"]
    peer_id = api.post("/v1/tokens", {"name": "peer", "scopes": ["tokens:manage"]}).json()["id"]
    refused = api.client.delete(f"/v1/tokens/{admin_id}", headers=manager)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    assert "['admin']" in refused.json()["error"]["message"]
    listed = {t["id"]: t for t in api.get("/v1/tokens").json()["data"]}
    assert listed[admin_id]["revoked_at"] is None
    assert api.events(self_audit=True, action="trailkeeper.token.revoked") == []
    allowed = api.client.delete(f"/v1/tokens/{peer_id}", headers=manager)
    assert allowed.status_code == 200, allowed.text
    assert api.delete(f"/v1/tokens/{admin_id}").status_code == 200  # an admin may


@pytest.mark.parametrize("scope", ["streams:manage", "retention:manage"])
def test_scopes_of_streams_and_retention_are_granted(api: Api, scope: str) -> None:
    response = api.post("/v1/tokens", {"name": "siem", "scopes": [scope]})
    assert response.status_code == 201, response.text
    assert response.json()["scopes"] == [scope]


def test_a_revoked_token_is_refused_at_ingest_after_it_was_remembered(api: Api) -> None:
    """The ingest path remembers a token's principal, but asks the store whether it is
    live for every group it stores: revoking takes effect at the next request."""
    created = api.post("/v1/tokens", {"name": "producer", "scopes": ["events:write"]}).json()
    writer = {"Authorization": f"Bearer {created['token']}"}
    first = api.client.post("/v1/events", json=make_event(1), headers=writer)
    assert first.status_code == 201
    assert api.delete(f"/v1/tokens/{created['id']}").status_code == 200
    for body in (make_event(2), {"action": "not valid"}):  # 401 before validation, as before
        refused = api.client.post("/v1/events", json=body, headers=writer)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthenticated"
    assert api.get("/v1/events/evt-2").status_code == 404, "nothing stored for a revoked token"


def test_ingest_rate_limit_is_shared_between_processes_and_comes_before_validation(
    service: Trailkeeper, api: Api
) -> None:
    """Counted per group by the ingest queue, in the store every process shares; an invalid
    body still counts, and over the limit the answer is 429 whatever the body."""
    settings = service.settings.model_copy(update={"ingest_rate_limit": 3})
    first = Trailkeeper(settings, service.store, service.key, service.integrity.signer)
    second = Trailkeeper(settings, service.store, service.key, service.integrity.signer)
    _one_window(first, second)
    with LiveServer(create_app(first)) as one, LiveServer(create_app(second)) as two:
        sent = [(one, make_event(1)), (two, {"action": "not valid"}), (one, make_event(2)),
                (two, make_event(3)), (one, {"action": "not valid"})]  # fmt: skip
        responses = [httpx.post(f"{url}/v1/events", json=body, headers=api.auth)
                     for url, body in sent]  # fmt: skip
    assert [r.status_code for r in responses] == [201, 400, 201, 429, 429]
    assert responses[0].headers["x-rate-limit-remaining"] == "2"
    assert responses[1].headers["x-rate-limit-remaining"] == "1"
    assert responses[3].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(responses[3].headers["retry-after"]) <= 60
