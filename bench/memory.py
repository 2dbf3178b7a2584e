"""Resident memory of the server (its process and any children), sampled every 0.2 s.

Reads ``/proc/PID/status`` (``VmRSS``), so psutil is not needed. The maximum is kept per phase
(``idle``, ``ingest``, ``reads``, ``paging``). With ``serve --processes N`` there are N + 1
processes (the parent, which runs the background workers, and N API children): the sum of their
RSS counts the pages they share since the fork once per process, so the sampler also keeps the
largest single process and the summed PSS (``/proc/PID/smaps_rollup``: a shared page counted
once, split between its sharers), which is what the processes take from the machine together."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

__all__ = ["RssSampler", "descendants", "rss_bytes"]

INTERVAL = 0.2
MiB = 1024 * 1024


def _proc_kib(pid: int, file: str, field: str) -> int:
    """``field`` of ``/proc/PID/<file>`` (a size in KiB) in bytes; 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return 0


def _vm_rss(pid: int) -> int:
    return _proc_kib(pid, "status", "VmRSS:")


def _pss(pid: int) -> int:
    return _proc_kib(pid, "smaps_rollup", "Pss:")


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
        self.max_process = 0  # the largest single process (the parent or one API child)
        self.max_pss_by_phase: dict[str, int] = {}
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
        own = _vm_rss(self.pid)
        if not own:
            return 0
        children = descendants(self.pid)
        sizes = [own, *(_vm_rss(child) for child in children)]
        pss = _pss(self.pid) + sum(_pss(child) for child in children)
        tree = sum(sizes)
        self.samples += 1
        phase = self.phase
        self.max_by_phase[phase] = max(self.max_by_phase.get(phase, 0), tree)
        self.max_pss_by_phase[phase] = max(self.max_pss_by_phase.get(phase, 0), pss)
        self.max_own = max(self.max_own, own)
        self.max_process = max(self.max_process, *sizes)
        return tree

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @property
    def max_rss(self) -> int:
        return max(self.max_by_phase.values(), default=0)

    @property
    def max_pss(self) -> int:
        return max(self.max_pss_by_phase.values(), default=0)
