"""Worker processes for CPU-bound work beside the process that owns the store (``verify``'s
chunk checks, ``ingest``'s validation)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from typing import TypeVar

__all__ = ["die_with_parent", "in_order", "worker_pool"]

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1


def worker_pool(workers: int, *, nice: int = 0) -> ProcessPoolExecutor:
    """``workers`` processes, started now; ``nice`` lowers their priority (a worker that
    feeds this process must never take its CPU).

    Forked when this process runs no other thread (so no lock can be copied half-held) on
    Linux: the workers start at once with everything imported. Called before the store
    is opened, the workers share nothing with it; each opens its own connections.
    Otherwise spawned, which re-imports the program in each worker (about a second)."""
    fork = (
        sys.platform == "linux"
        and threading.active_count() == 1
        and "fork" in get_all_start_methods()
    )
    pool = ProcessPoolExecutor(
        workers,
        mp_context=get_context("fork" if fork else "spawn"),
        initializer=_start_worker,
        initargs=(nice,),
    )
    pool.submit(int).result()  # start the workers now, before any thread or connection
    return pool


def _start_worker(nice: int) -> None:
    die_with_parent()
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)


def die_with_parent() -> None:
    """Linux: the worker gets SIGKILL when the process that started it dies (killed with
    -9, its worker would otherwise go on working, or wait, for nobody)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def in_order(
    executor: Executor, work: Callable[[T], R], items: Iterable[T], ahead: int
) -> Generator[tuple[T, R]]:
    """Each item with ``work(item)``, in the items' order, computed in ``executor`` with at
    most ``ahead`` items in flight or done beyond the one the caller waits for (enough that
    no worker idles, few enough to bound memory). Closing the generator early cancels what
    has not started."""
    inflight: deque[tuple[T, Future[R]]] = deque()
    try:
        for item in items:
            inflight.append((item, executor.submit(work, item)))
            if len(inflight) > ahead:
                done, future = inflight.popleft()
                yield done, future.result()
        while inflight:
            done, future = inflight.popleft()
            yield done, future.result()
    finally:
        for _, future in inflight:
            future.cancel()
