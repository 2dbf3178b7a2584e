"""``python -m bench.ui``: what the web UI costs beside the API, on a large tenant.

For each backend: a real ``trailkeeper serve`` (``bench.server``), N realistic events
(``bench.data``) appended straight through the store, then a session signed in through the
UI's own form. Measured in the same run, requests alternating so that both see the same
load (loopback wall time per request: an upper bound of the server's time):

* the feed's first page (``GET /``, the whole HTML page, 50 rows) against
  ``GET /v1/events?limit=50`` returning the same rows;
* a filter change (``GET /?<filter>`` as the page's script asks for it, a fragment with the
  table), one filter kind after another (actor, action prefix, resource, day, search),
  against ``GET /v1/events?limit=50&<filter>``.

Every UI answer is checked to list exactly the API's event ids. Targets: first page p95
≤ 150 ms, filter change p95 ≤ 300 ms, UI/API ≤ 1.5×.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.data import QueryValues, make_corpus
from bench.reads import KINDS, _params, _values, percentile
from bench.report import Figure, render, write_json
from bench.server import Deployment
from trailkeeper.events.batch import drafts_from_events
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "ui.json"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
PAGE = 50
_IDS = re.compile(r'<tr class="event" data-id="([^"]+)"')
Params = list[tuple[str, Any]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ui", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100, help="per figure and side")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    return parser.parse_args(argv)


def load(deployment: Deployment, events: int, console: Console) -> QueryValues:
    """The corpus appended through the store of an in-process service on the same data."""
    settings = Settings(data_dir=deployment.data_dir, database_url=deployment.database_url)
    corpus = make_corpus(events)
    service = Trailkeeper.open(settings)
    try:
        tenant = service.tenancy.tenant("bench")
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console,
        ) as progress:  # fmt: skip
            task = progress.add_task(f"{deployment.backend}: load", total=events)
            for body in corpus.bodies:
                batch = orjson.loads(body)["events"]
                service.store.append(tenant.id, drafts_from_events(batch))
                progress.advance(task, len(batch))
    finally:
        service.close()
    return corpus.values


@contextmanager
def sign_in(base_url: str, token: str) -> Iterator[httpx.Client]:
    """A client signed in through the UI's own form (its cookie is the session)."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        form = client.get("/signin").text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        done = client.post("/signin", data={"csrf": csrf, "token": token, "next": "/"})
        if done.status_code != 303:
            raise RuntimeError(f"UI sign-in failed: {done.status_code} {done.text[:200]}")
        yield client


def _timed(call: Callable[[], httpx.Response]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = call()
    return (time.perf_counter() - started) * 1000, response


def compare(
    ui: httpx.Client, api: httpx.Client, params_list: list[Params], *, fragment: bool
) -> tuple[list[float], list[float]]:
    """UI and API timings over the same filters, alternating; the rows must agree."""
    ui_ms: list[float] = []
    api_ms: list[float] = []
    headers = {"X-TK-Fragment": "1"} if fragment else {}
    for params in params_list:
        took_api, listed = _timed(
            lambda p=params: api.get("/v1/events", params=[*p, ("limit", PAGE)])
        )
        took_ui, page = _timed(lambda p=params: ui.get("/", params=p, headers=headers))
        if listed.status_code != 200 or page.status_code != 200:
            raise RuntimeError(f"{params}: API {listed.status_code}, UI {page.status_code}")
        if _IDS.findall(page.text) != [e["id"] for e in listed.json()["data"]]:
            raise RuntimeError(f"{params}: the UI and the API list different events")
        api_ms.append(took_api)
        ui_ms.append(took_ui)
    return ui_ms, api_ms


def _figures(
    backend: str, name: str, target: float, ui_ms: list[float], api_ms: list[float]
) -> list[Figure]:
    ui95, api95 = percentile(ui_ms, 95), percentile(api_ms, 95)
    ui50, api50 = percentile(ui_ms, 50), percentile(api_ms, 50)
    note = f"p50 UI {ui50:.1f} ms, API {api50:.1f} ms; n={len(ui_ms)}"
    passed = ui95 <= target and ui95 <= 1.5 * api95
    return [
        Figure(backend, f"{name} p95", ui95, "ms", api95, "GET /v1/events p95", "UI/API",
               f"≤ {target:.0f} ms; ≤ 1.5× API", passed, note),
    ]  # fmt: skip


def run_backend(backend: str, args: argparse.Namespace, console: Console) -> list[Figure]:
    with Deployment(backend, args.admin_url) as deployment:
        values = load(deployment, args.events, console)
        with sign_in(deployment.base_url, deployment.token) as ui, deployment.client() as api:
            compare(ui, api, [[]] * 10, fragment=False)  # warm up
            ui_ms, api_ms = compare(ui, api, [[]] * args.requests, fragment=False)
            figures = _figures(backend, "feed first page", 150, ui_ms, api_ms)
            ui_ms, api_ms, kinds = [], [], []
            for kind in KINDS:
                pool = _values(values, kind)
                step = max(1, len(pool) // args.requests)
                chosen = [_params(kind, v) for v in pool[::step][: args.requests // 5 + 1]]
                ui_kind, api_kind = compare(ui, api, chosen, fragment=True)
                ui_ms += ui_kind
                api_ms += api_kind
                p95 = (percentile(ui_kind, 95), percentile(api_kind, 95))
                kinds.append(f"{kind} {p95[0]:.0f}/{p95[1]:.0f}")
            figures += _figures(backend, "filter change", 300, ui_ms, api_ms)
            figures[-1].note += "; p95 UI/API ms by filter: " + ", ".join(kinds)
            console.print(f"{backend}: done ({len(ui_ms)} filter changes)")
            return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    figures: list[Figure] = []
    for backend in backends:
        figures.extend(run_backend(backend, args, console))
    render(figures, console, f"web UI beside the API, {args.events:,} events in the tenant")
    meta = {"events": args.events, "requests": args.requests, "cpus": os.cpu_count()}
    write_json(RESULTS, meta, figures, None)
    return 0 if all(f.passed is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
