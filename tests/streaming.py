"""Helpers for stream delivery tests: a supervisor running in this process (as in
``serve``), and the checks every delivery test makes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from support import Api
from trailkeeper.service import Trailkeeper
from trailkeeper.service.worker import BackgroundWorker, Loop
from trailkeeper.streams.engine import Timing
from trailkeeper.streams.supervisor import StreamSupervisor

TIMING = Timing(lease=10, poll=0.05, linger=0.02)


@contextmanager
def supervising(service: Trailkeeper) -> Iterator[StreamSupervisor]:
    supervisor = StreamSupervisor(service.store, service.key, service.settings, timing=TIMING)
    worker = BackgroundWorker([Loop("streams", supervisor.run_once, 0.05, stop=supervisor.stop)])
    worker.start()
    try:
        yield supervisor
    finally:
        worker.stop()


def create_stream(api: Api, kind: str, config: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"name": kind, "type": kind, "start": "beginning", "config": config, **fields}
    response = api.post("/v1/streams", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def assert_complete_in_order(received: list[int], expected: list[int]) -> None:
    """Every expected seq arrived, and each for the first time after all lower ones
    (a batch may be repeated after a failure: at least once)."""
    first_arrivals = list(dict.fromkeys(received))
    assert first_arrivals == sorted(expected), (first_arrivals[:20], sorted(expected)[:20])


def wait_stream(
    api: Api, sid: str, check: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stream = dict(api.get(f"/v1/streams/{sid}").json())
        if check(stream) or time.monotonic() > deadline:
            return stream
        time.sleep(0.05)


def wait_until(check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
