"""Request metrics: each label set counted in its own series, however it was found."""

from __future__ import annotations

from trailkeeper.metrics import Metrics


def _count(metrics: Metrics, method: str, route: str, status: str) -> float | None:
    return metrics.registry.get_sample_value(
        "trailkeeper_http_request_duration_seconds_count",
        {"method": method, "route": route, "status": status},
    )


def test_each_label_set_counts_its_own_requests() -> None:
    metrics = Metrics()
    for _ in range(3):
        metrics.observe_request("POST", "/v1/events", 201, 0.002)
    metrics.observe_request("POST", "/v1/events", 429, 0.001)
    metrics.observe_request("BREW", "/v1/events", 201, 0.001)
    metrics.observe_request("GET", "unmatched", 600, 0.001)
    metrics.observe_request("GET", "unmatched", 99, 0.001)
    assert _count(metrics, "POST", "/v1/events", "201") == 3
    assert _count(metrics, "POST", "/v1/events", "429") == 1
    assert _count(metrics, "other", "/v1/events", "201") == 1
    assert _count(metrics, "GET", "unmatched", "other") == 2
    assert b'status="other"' in metrics.render()
