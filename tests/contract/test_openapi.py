"""The OpenAPI description says what the server really does (schemathesis checks
the responses against it in tests/integration/test_schemathesis.py)."""

from __future__ import annotations

from typing import Any

import pytest

from support import Api

ENVELOPES = {"#/components/schemas/ErrorEnvelope", "#/components/schemas/GraphQLRefusal"}


@pytest.fixture
def spec(api: Api) -> dict[str, Any]:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def test_no_422_and_every_error_has_the_envelope(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for method, path, operation in _operations(spec):
        responses = operation["responses"]
        assert "422" not in responses, (method, path)
        assert "400" in responses, (method, path)
        for status, response in responses.items():
            if int(status) < 400:
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema.get("$ref") in ENVELOPES, (method, path, status)
        if operation.get("security"):
            assert {"401", "429"} <= responses.keys(), (method, path)


# Actions that take no body: each is declared without one.
BODILESS = {
    "/v1/checkpoints",
    "/v1/streams/{stream_id}/pause",
    "/v1/streams/{stream_id}/resume",
    "/v1/streams/{stream_id}/test",
    "/v1/webhook-secret/rotate",
}


def test_every_operation_is_described_with_real_schemas(spec: dict[str, Any]) -> None:
    for method, path, operation in _operations(spec):
        assert operation.get("description"), (method, path)
        assert not operation["summary"].startswith("Handle"), (method, path)
        success = [r for s, r in operation["responses"].items() if s.startswith("2")]
        assert len(success) == 1, (method, path)
        for media, content in success[0]["content"].items():
            assert content["schema"] not in ({}, None), (method, path, media)
        if method in ("POST", "PUT", "PATCH") and path not in BODILESS:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body not in ({}, None), (method, path)
        elif method == "POST":
            assert "requestBody" not in operation, (method, path)


def test_ingest_body_is_one_event_or_a_batch(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/IngestRequest"}
    schemas = spec["components"]["schemas"]
    assert schemas["IngestRequest"]["oneOf"] == [
        {"$ref": "#/components/schemas/EventIn"},
        {"$ref": "#/components/schemas/IngestBatch"},
    ]
    assert schemas["IngestBatch"]["properties"]["events"]["maxItems"] == 1000
    assert set(schemas["EventIn"]["required"]) == {"action", "occurred_at", "actor"}
    assert {"409", "413"} <= spec["paths"]["/v1/events"]["post"]["responses"].keys()


def test_non_json_routes_have_their_media_types(spec: dict[str, Any]) -> None:
    def media(path: str) -> set[str]:
        return set(spec["paths"][path]["get"]["responses"]["200"]["content"])

    assert media("/metrics") == {"text/plain"}
    assert media("/v1/events/download") == {"text/csv", "application/x-ndjson"}
    assert "application/json" not in media("/v1/events/download")
    assert {"text/csv", "application/x-ndjson", "application/vnd.apache.parquet"} <= media(
        "/v1/downloads/{key}"
    )
    graphql = spec["paths"]["/graphql"]["post"]
    assert graphql["summary"].startswith("Run a GraphQL")
    assert "403" not in graphql["responses"]  # scopes are field errors, in a 200


def test_a_wrong_method_lists_every_documented_method(api: Api) -> None:
    for path, allowed in (("/v1/exports", "GET, POST"), ("/v1/tokens", "GET, POST")):
        response = api.client.request("OPTIONS", path)
        assert response.status_code == 405
        assert response.headers["allow"] == allowed
        assert response.json()["error"]["code"] == "method_not_allowed"
