"""The error envelope everywhere, and the operational endpoints."""

from __future__ import annotations

from support import Api


def _envelope(response: object, status: int, code: str) -> None:
    assert response.status_code == status  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], list)


def test_unknown_route_and_wrong_method(api: Api) -> None:
    _envelope(api.get("/v2/nothing"), 404, "not_found")
    _envelope(api.client.delete("/v1/events", headers=api.auth), 405, "method_not_allowed")
    _envelope(api.client.put("/healthz"), 405, "method_not_allowed")


def test_validation_errors_are_400_not_422(api: Api) -> None:
    _envelope(api.get("/v1/events", params={"limit": "abc"}), 400, "invalid_request")
    _envelope(api.post("/v1/tokens", {"name": 5}), 400, "invalid_request")
    _envelope(
        api.client.post(
            "/v1/tokens", content=b"{oops", headers={**api.auth, "Content-Type": "application/json"}
        ),
        400,
        "invalid_request",
    )


def test_health_ready_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["database"] in ("sqlite", "postgresql")
    api.ingest({"action": "a.b", "occurred_at": "2026-11-01T00:00:00Z", "actor": {"id": "x"}})
    metrics = api.client.get("/metrics").text
    assert "trailkeeper_events_ingested_total 1.0" in metrics
    assert 'route="/v1/events"' in metrics


def test_openapi_and_docs(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert "/v1/events" in spec["paths"]
    params = {p["name"] for p in spec["paths"]["/v1/events"]["get"]["parameters"]}
    assert {"actor", "action", "q", "start", "end", "order", "limit", "cursor"} <= params
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    docs = api.client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/_docs-assets/{asset}" in docs.text
        served = api.client.get(f"/_docs-assets/{asset}")
        assert served.status_code == 200
        assert len(served.content) > 100_000
