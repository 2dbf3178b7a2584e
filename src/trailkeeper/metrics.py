"""Prometheus metrics, in a registry per app (no import-time globals)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["KNOWN_METHODS", "Metrics"]

# Label values come only from these sets, so unauthenticated requests with
# invented methods or paths cannot grow the registry (one label set each).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"


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
        # Each label set's histogram, found once: ``labels()`` checks and locks on each call.
        self._observers: dict[tuple[str, str, str], Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """``route`` must be a route template (or ``unmatched``), never a raw path."""
        label = method if method in KNOWN_METHODS else OTHER
        code = str(status) if 100 <= status <= 599 else OTHER
        key = (label, route, code)
        observer = self._observers.get(key)
        if observer is None:
            observer = self._observers[key] = self.requests.labels(*key)
        observer.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
