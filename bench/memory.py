"""Resident memory of the server (its process and any children), sampled every 0.2 s.

Reads ``/proc/PID/status`` (``VmRSS``), so psutil is not needed. The maximum is kept per phase
(``idle``, ``ingest``, ``reads``, ``paging``)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

__all__ = ["RssSampler", "descendants", "rss_bytes"]

INTERVAL = 0.2
MiB = 1024 * 1024


def _vm_rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    tasks = Path(f"/proc/{pid}/task")
    try:
        for task in tasks.iterdir():
            text = (task / "children").read_text()
            found.extend(int(child) for child in text.split())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return found
    return found


def descendants(pid: int) -> list[int]:
    """Live children of ``pid``, their children, and so on (bounded)."""
    found: list[int] = []
    todo, seen = _children(pid), {pid}
    while todo and len(seen) < 1000:
        child = todo.pop()
        if child in seen:
            continue
        seen.add(child)
        found.append(child)
        todo.extend(_children(child))
    return found


def rss_bytes(pid: int) -> tuple[int, int]:
    """(RSS of ``pid``, RSS of ``pid`` plus all its descendants)."""
    own = _vm_rss(pid)
    return own, own + sum(_vm_rss(child) for child in descendants(pid))


class RssSampler:
    """Background sampler; use as a context manager and set ``phase`` as the run moves on."""

    def __init__(self, pid: int, interval: float = INTERVAL) -> None:
        self.pid = pid
        self.interval = interval
        self.phase = "idle"
        self.max_by_phase: dict[str, int] = {}
        self.max_own = 0  # the main process alone
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)

    def sample(self) -> int:
        """Sample now; returns the RSS of the server's process tree (all its processes)."""
        own, tree = rss_bytes(self.pid)
        if own:
            self.samples += 1
            phase = self.phase
            self.max_by_phase[phase] = max(self.max_by_phase.get(phase, 0), tree)
            self.max_own = max(self.max_own, own)
        return tree

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @property
    def max_rss(self) -> int:
        return max(self.max_by_phase.values(), default=0)
