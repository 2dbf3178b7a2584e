"""Read latency of ``GET /v1/events`` (first page, one filter) and paging throughput, each
beside the same SELECT issued straight to the database."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from rich.progress import Progress

from bench.data import QueryValues
from bench.db import PAGE_LIMIT, SENTINEL, STATEMENT_TIMEOUT_S, Raw, query_for
from bench.server import Deployment

__all__ = [
    "KINDS",
    "LatencyResult",
    "PagingResult",
    "measure_list",
    "page_everything",
    "percentile",
]

KINDS = ("actor", "action", "resource", "day", "q")
WARMUP = 10
BUDGET_S = 120.0  # per pass and filter kind
PAGE = 999


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of ``values``."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(slots=True)
class LatencyResult:
    kind: str
    http_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    mismatches: int = 0
    errors: list[str] = field(default_factory=list)
    plan: str = ""
    example: str = ""

    def summary(self) -> dict[str, Any]:
        def stats(values: list[float]) -> dict[str, float]:
            return {
                "p50": round(percentile(values, 50), 3),
                "p95": round(percentile(values, 95), 3),
                "p99": round(percentile(values, 99), 3),
                "max": round(max(values, default=0.0), 3),
            }

        return {
            "requests": len(self.http_ms),
            "http_ms": stats(self.http_ms),
            "raw_ms": stats(self.raw_ms),
            "mean_rows": round(sum(self.rows) / len(self.rows), 1) if self.rows else 0,
            "empty_pages": sum(1 for r in self.rows if r == 0),
            "statements_per_request": max(self.statements, default=0),
            "mismatches": self.mismatches,
            "errors": self.errors[:5],
            "plan": self.plan,
            "example": self.example,
        }


@dataclass(slots=True)
class PagingResult:
    events: int
    pages: int
    seconds: float
    raw_events: int
    raw_seconds: float
    max_page_ms: float
    expected: int
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def raw_rate(self) -> float:
        return self.raw_events / self.raw_seconds if self.raw_seconds else 0.0


def _values(values: QueryValues, kind: str) -> list[Any]:
    pools: dict[str, list[Any]] = {
        "actor": values.actors,
        "action": values.action_prefixes,
        "resource": values.resources,
        "day": values.days,
        "q": values.searches,
    }
    return pools[kind]


def _params(kind: str, value: Any) -> list[tuple[str, str | int | float | bool | None]]:
    if kind == "resource":
        return [("resource_type", value[0]), ("resource_id", value[1])]
    if kind == "day":
        return [("start", value), ("end", value)]
    return [(kind, str(value))]


def measure_list(
    deployment: Deployment,
    raw: Raw,
    values: QueryValues,
    requests: int,
    seed: int = 7,
    progress: Progress | None = None,
    budget_s: float = BUDGET_S,
) -> list[LatencyResult]:
    """For each filter kind: ``requests`` first pages over HTTP (sequential, keep-alive), then
    the SELECTs the store issues for the same values, replayed directly. Each pass of a kind
    stops early once it has used ``budget_s`` seconds (a pathological plan must not stall a run)."""
    rng = random.Random(seed)
    results = []
    with deployment.client() as client:
        for kind in KINDS:
            pool = _values(values, kind)
            chosen = [rng.choice(pool) for _ in range(requests + WARMUP)]
            result = LatencyResult(kind)
            task = (
                progress.add_task(f"list, filter {kind}", total=2 * len(chosen))
                if progress
                else None
            )
            http_ids: list[list[str]] = []
            deadline = time.monotonic() + budget_s
            for n, value in enumerate(chosen):
                if time.monotonic() > deadline:
                    result.errors.append(f"HTTP pass stopped by the {budget_s:.0f} s budget")
                    break
                params = [*_params(kind, value), ("limit", 100)]
                started = time.perf_counter()
                response = client.get("/v1/events", params=params)
                body = orjson.loads(response.content)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    result.errors.append(f"{response.status_code} {response.text[:200]}")
                    http_ids.append([])
                else:
                    http_ids.append([e["id"] for e in body["data"]])
                if n >= WARMUP:
                    result.http_ms.append(elapsed)
                    result.rows.append(len(http_ids[-1]))
                if progress is not None and task is not None:
                    progress.advance(task)
            captures = [
                raw.capture(query_for(_params(kind, value)), None, PAGE_LIMIT)
                for value in chosen[: len(http_ids)]
            ]
            deadline = time.monotonic() + budget_s
            for n, capture in enumerate(captures):
                if time.monotonic() > deadline:
                    result.errors.append(f"raw pass stopped by the {budget_s:.0f} s budget")
                    break
                started = time.perf_counter()
                try:
                    raw.replay(capture.statements)
                except psycopg.errors.QueryCanceled:
                    result.errors.append(f"raw statement over {STATEMENT_TIMEOUT_S} s")
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                if n >= WARMUP:
                    result.raw_ms.append(elapsed)
                    result.statements.append(len(capture.statements))
                    if capture.ids[:100] != http_ids[n]:
                        result.mismatches += 1
                if progress is not None and task is not None:
                    progress.advance(task)
            if len(captures) > WARMUP:
                sample = captures[WARMUP]
                result.plan = " || ".join(raw.explain(st) for st in sample.statements)
                first = _params(kind, chosen[WARMUP])
                result.example = "&".join(f"{k}={v}" for k, v in first)
            results.append(result)
    return results


def page_everything(
    deployment: Deployment, raw: Raw, progress: Progress | None = None
) -> PagingResult:
    """Follow ``next_cursor`` with ``limit=999`` through the whole log (newest first), then
    replay the store's keyset SELECT (``seq < last … LIMIT 1000``) page after page directly."""
    expected = raw.count()
    max_pages = expected // PAGE + 10
    task = progress.add_task("page through everything", total=2 * expected) if progress else None
    errors: list[str] = []
    events = pages = 0
    max_page = 0.0
    with deployment.client() as client:
        cursor: str | None = None
        started = time.perf_counter()
        while pages < max_pages:
            params: dict[str, Any] = {"limit": PAGE}
            if cursor is not None:
                params["cursor"] = cursor
            t0 = time.perf_counter()
            response = client.get("/v1/events", params=params)
            max_page = max(max_page, time.perf_counter() - t0)
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text[:200]}")
                break
            body = orjson.loads(response.content)
            events += len(body["data"])
            pages += 1
            if progress is not None and task is not None:
                progress.advance(task, len(body["data"]))
            cursor = body.get("next_cursor")
            if not body.get("has_more") or cursor is None:
                break
        seconds = time.perf_counter() - started

    raw_events = 0
    capture = raw.capture(query_for([]), SENTINEL, PAGE + 1)
    *lookups, (page_sql, page_params) = capture.statements
    at = list(page_params).index(SENTINEL)
    seq = raw.seq_column((page_sql, page_params))
    before = SENTINEL
    raw_started = time.perf_counter()
    for _ in range(max_pages):
        bound = list(page_params)
        bound[at] = before
        rows = raw.replay([*lookups, (page_sql, tuple(bound))])
        page = rows[:PAGE]
        raw_events += len(page)
        if progress is not None and task is not None:
            progress.advance(task, len(page))
        if len(rows) <= PAGE:
            break
        before = int(page[-1][seq])
    raw_seconds = time.perf_counter() - raw_started
    return PagingResult(
        events, pages, seconds, raw_events, raw_seconds, max_page * 1000, expected, errors
    )
