"""Prometheus metrics, in a registry per app (no import-time globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "trailkeeper_http_request_duration_seconds",
            "HTTP request latency by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.events_ingested = Counter(
            "trailkeeper_events_ingested",
            "Events accepted by ingest requests (idempotent retries included)",
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
