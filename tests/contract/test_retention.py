"""GET/PUT /v1/retention: the policy, its validation, its self-audit, its scope."""

from __future__ import annotations

from typing import Any

import pytest

from support import Api


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code, body
    return body


def test_default_policy_keeps_events_forever(api: Api) -> None:
    body = api.get("/v1/retention").json()
    assert (body["days"], body["archive"], body["legal_hold"]) == (None, True, False)
    assert body["inherited"] is True
    assert (body["last_error"], body["removed"]) == (None, None)


def test_put_sets_the_policy_and_fields_left_out_keep_theirs(api: Api) -> None:
    response = api.client.put("/v1/retention", json={"days": 180}, headers=api.auth)
    assert response.status_code == 200, response.text
    assert (response.json()["days"], response.json()["inherited"]) == (180, False)
    response = api.client.put("/v1/retention", json={"legal_hold": True}, headers=api.auth)
    body = api.get("/v1/retention").json()
    assert (body["days"], body["archive"], body["legal_hold"]) == (180, True, True)


def test_changes_are_self_audited_with_old_and_new_values(api: Api) -> None:
    api.client.put("/v1/retention", json={"days": 90, "archive": False}, headers=api.auth)
    audit = api.events(self_audit=True, action="trailkeeper.retention.updated")
    assert len(audit) == 1
    metadata = audit[0]["metadata"]
    assert metadata["old"] == {"days": None, "archive": True, "legal_hold": False,
                               "inherited": True}  # fmt: skip
    assert metadata["new"] == {"days": 90, "archive": False, "legal_hold": False}
    assert audit[0]["actor"]["type"] == "service_account"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"days": -1}, "days"),
        ({"days": 0}, "days"),  # below the deployment's minimum (1)
        ({"days": 1.5}, "days"),
        ({"days": "30"}, "days"),
        ({"days": True}, "days"),
        ({"days": 10**12}, "days"),
        ({"archive": "yes"}, "archive"),
        ({"legal_hold": None}, "legal_hold"),
        ({"retain": 5}, "retain"),
    ],
)
def test_bad_policies_are_refused_and_change_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    error = _error(api.client.put("/v1/retention", json=body, headers=api.auth), 400,
                   "invalid_request")  # fmt: skip
    assert [d["field"] for d in error["details"]] == [field]
    assert api.get("/v1/retention").json()["days"] is None
    assert api.events(self_audit=True, action="trailkeeper.retention.updated") == []


def test_a_body_that_is_not_an_object_is_refused(api: Api) -> None:
    for raw in (b"[1]", b"not json", b"null"):
        response = api.client.put("/v1/retention", content=raw, headers=api.auth)
        _error(response, 400, "invalid_request")


def test_the_scope_is_required(api: Api) -> None:
    reader = api.token_with("audit-log:list")
    headers = {"Authorization": f"Bearer {reader}"}
    _error(api.client.get("/v1/retention", headers=headers), 403, "forbidden")
    _error(api.client.put("/v1/retention", json={"days": 5}, headers=headers), 403, "forbidden")
    _error(api.client.post("/v1/erasures", json={"actor_id": "u_1"}, headers=headers), 403,
           "forbidden")  # fmt: skip
    manager = api.token_with("retention:manage")
    response = api.client.get("/v1/retention", headers={"Authorization": f"Bearer {manager}"})
    assert response.status_code == 200
