"""The background loops that run while ``serve`` or ``worker`` runs: integrate
and publish checkpoints, run export jobs, send webhooks, deliver streams,
run erasures, and each
tenant's daily retention run.

Each loop has its own thread, so a long export never delays a checkpoint. Any
number of processes may run them: the tree lock makes one process integrate a
tenant at a time, and jobs and webhooks are claimed under leases."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trailkeeper.service import Trailkeeper

__all__ = ["BackgroundWorker", "Loop"]

log = logging.getLogger("trailkeeper.worker")


@dataclass(frozen=True, slots=True)
class Loop:
    name: str
    step: Callable[[], object]  # a truthy result means "there may be more: go again"
    idle: float  # seconds to wait after a pass that found nothing (or failed)
    eager: bool = True  # go again at once after a pass that did work
    stop: Callable[[], object] | None = None  # called once when the worker stops


class BackgroundWorker:
    def __init__(self, loops: Sequence[Loop]) -> None:
        self._stop = threading.Event()
        self._stoppers = [loop.stop for loop in loops if loop.stop is not None]
        self._threads = [
            threading.Thread(
                target=self._run, args=(loop,), name=f"trailkeeper-{loop.name}", daemon=True
            )
            for loop in loops
        ]

    @classmethod
    def for_service(cls, service: Trailkeeper) -> BackgroundWorker:
        interval = service.settings.checkpoint_interval
        return cls(
            [
                Loop("integrity", service.integrity.run_once, interval, eager=False),
                Loop("exports", service.export_runner.run_once, 1.0),
                Loop("webhooks", service.webhooks.run_once, 1.0),
                Loop(
                    "streams",
                    service.streams.supervisor.run_once,
                    1.0,
                    stop=service.streams.supervisor.stop,
                ),
                Loop("erasures", service.erasures.run_once, 1.0),
                Loop("retention", service.retention.run_due, 60.0, eager=False),
            ]
        )

    def _run(self, loop: Loop) -> None:
        """Run until stopped; a failing pass is logged and retried, never fatal."""
        while not self._stop.is_set():
            try:
                busy = loop.step()
            except Exception:
                log.exception("%s pass failed; retrying in %.1f s", loop.name, loop.idle)
                busy = False
            if not (busy and loop.eager):
                self._stop.wait(loop.idle)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=30)
        for stopper in self._stoppers:
            stopper()
