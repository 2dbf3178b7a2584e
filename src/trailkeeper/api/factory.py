"""Entry point for ``serve --processes N``: uvicorn starts N processes, and each
builds its own service from the ``TRAILKEEPER_*`` variables its parent set.

Each child dies with its parent: a parent killed with SIGKILL runs no shutdown code,
and children left behind under PID 1 would keep serving the port (with no integrity
worker) and block a restart."""

from __future__ import annotations

import os
import signal
import threading

from fastapi import FastAPI

from trailkeeper.api.app import create_app
from trailkeeper.heap import settle_heap
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

__all__ = ["PARENT_VARIABLE", "app_from_environment", "die_with_parent"]

PARENT_VARIABLE = "TRAILKEEPER_SERVE_PARENT_PID"
"""Set by ``serve`` for its children: the pid they must not outlive."""


def app_from_environment() -> FastAPI:
    parent = os.environ.get(PARENT_VARIABLE)
    if parent is not None:
        die_with_parent(int(parent))
    app = create_app(Trailkeeper.open(Settings()))
    settle_heap()
    return app


def die_with_parent(parent: int, poll_seconds: float = 0.5, grace_seconds: float = 20) -> None:
    """SIGTERM this process (a graceful uvicorn shutdown) within ``poll_seconds`` of
    ``parent`` being gone, and end it outright if that shutdown takes ``grace_seconds``.

    A watcher rather than Linux's parent-death signal (``PR_SET_PDEATHSIG``): that signal
    follows the parent *thread* that spawned the child, and armed in uvicorn's children it
    killed a healthy one at start."""
    if os.getppid() != parent:  # it died before the watcher started
        raise SystemExit(f"the serve process {parent} is gone")

    def watch() -> None:
        tick = threading.Event()
        while not tick.wait(poll_seconds):
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                tick.wait(grace_seconds)
                os._exit(1)

    threading.Thread(target=watch, name="trailkeeper-parent-watch", daemon=True).start()
