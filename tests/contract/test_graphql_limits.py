"""``POST /graphql`` bodies are bounded before they are parsed."""

from __future__ import annotations

from typing import Any

from support import Api

QUERY = b'{"query": "{ __typename }", "variables": {"x": '


def _post(api: Api, variables: bytes) -> Any:
    headers = {**api.auth, "Content-Type": "application/json"}
    return api.client.post("/graphql", content=QUERY + variables + b"}}", headers=headers)


def _refused(response: Any, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert body["error"]["code"] == code
    assert body["errors"][0]["extensions"]["code"] == code
    for word in words:
        assert word in body["error"]["message"], body["error"]["message"]


def test_a_large_body_of_tiny_objects_is_refused_unparsed(api: Api) -> None:
    tiny = b"[" + b"{}," * (3_400_000) + b"{}]"  # ~9.7 MiB: under the ingest limit
    _refused(_post(api, tiny), 413, "payload_too_large", "GraphQL", "KiB")


def test_many_objects_in_a_small_body_are_refused(api: Api) -> None:
    many = b"[" + b"{}," * 50_000 + b"{}]"  # 150 KB
    _refused(_post(api, many), 400, "invalid_request", "objects and arrays")


def test_deep_nesting_is_refused_with_its_own_message(api: Api) -> None:
    for depth in (40, 5000):
        deep = b"[" * depth + b"]" * depth
        _refused(_post(api, deep), 400, "invalid_request", "nests JSON more than 32 levels")


def test_ordinary_requests_still_run(api: Api) -> None:
    response = _post(api, b'["a", "b"]')
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"__typename": "Query"}
