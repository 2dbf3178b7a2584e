"""Entry point for ``serve --processes N``: uvicorn starts N processes, and each
builds its own service from the ``TRAILKEEPER_*`` variables its parent set.

Each child dies with its parent: a parent killed with SIGKILL runs no shutdown code,
and children left behind under PID 1 would keep serving the port (with no integrity
worker) and block a restart."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

from fastapi import FastAPI

from trailkeeper.api.app import create_app
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings

__all__ = ["PARENT_VARIABLE", "app_from_environment", "die_with_parent"]

PARENT_VARIABLE = "TRAILKEEPER_SERVE_PARENT_PID"
"""Set by ``serve`` for its children: the pid they must not outlive."""
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>


def app_from_environment() -> FastAPI:
    parent = os.environ.get(PARENT_VARIABLE)
    if parent is not None:
        die_with_parent(int(parent))
    return create_app(Trailkeeper.open(Settings()))


def die_with_parent(parent: int, poll_seconds: float = 1.0) -> None:
    """SIGTERM this process (a graceful uvicorn shutdown) when ``parent`` is gone: at once
    on Linux (a parent-death signal), within ``poll_seconds`` elsewhere (a watcher)."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    def orphaned() -> bool:
        return os.getppid() != parent

    if orphaned():  # it died before the signal was armed
        raise SystemExit(f"the serve process {parent} is gone")

    def watch() -> None:
        stop = threading.Event()
        while not stop.wait(poll_seconds):
            if orphaned():
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="trailkeeper-parent-watch", daemon=True).start()
