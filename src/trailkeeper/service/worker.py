"""The background loop that integrates and publishes while ``serve`` or
``worker`` runs. Several processes may run it: the tree lock makes one of them
integrate a tenant at a time, and checkpoints are unique per tree size."""

from __future__ import annotations

import logging
import threading

from trailkeeper.service.integrity import IntegrityService

__all__ = ["BackgroundWorker"]

log = logging.getLogger("trailkeeper.worker")


class BackgroundWorker:
    def __init__(self, integrity: IntegrityService, interval: float) -> None:
        self._integrity = integrity
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="trailkeeper-worker", daemon=True)

    def run(self) -> None:
        """Run until stopped; a failing pass is logged and retried, never fatal."""
        while not self._stop.is_set():
            try:
                self._integrity.run_once()
            except Exception:
                log.exception("integration pass failed; retrying in %.1f s", self._interval)
            self._stop.wait(self._interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
