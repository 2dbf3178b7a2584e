"""Who used the CPUs during each phase: the server, the benchmark itself, or anything else.

On a shared machine other processes (a test suite, a build) steal cores from the server and
make every figure pessimistic; the report shows how much, so a noisy run can be recognized.
Reads ``/proc/stat`` and ``/proc/PID/stat`` (Linux)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.memory import descendants

__all__ = ["CpuMeter", "CpuUse"]

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuUse:
    """Average cores busy during a phase, by whom."""

    seconds: float
    machine: float
    server: float
    bench: float
    by_process: tuple[float, ...] = ()
    """The server's cores by process, the ``serve`` process first (with ``--processes N``,
    its N API children after it: a child that got no client connection shows ~0)."""

    @property
    def other(self) -> float:
        return max(0.0, self.machine - self.server - self.bench)

    def as_json(self) -> dict[str, float]:
        return {
            "seconds": round(self.seconds, 2),
            "cores_busy": round(self.machine, 2),
            "server_cores": round(self.server, 2),
            "bench_cores": round(self.bench, 2),
            "other_cores": round(self.other, 2),
            "server_cores_by_process": [round(c, 2) for c in self.by_process],
        }


def _machine_ticks() -> int:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return user + nice + system + irq + softirq + steal


def _process_ticks(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    fields = text.rsplit(")", 1)[1].split()
    # utime, stime, and cutime, cstime of waited-for children (fields 14-17 of stat)
    return sum(int(f) for f in fields[11:15])


def _tree_ticks(pid: int) -> dict[int, int]:
    """CPU ticks of ``pid`` and of each live descendant (``serve --processes N`` workers)."""
    return {p: _process_ticks(p) for p in (pid, *descendants(pid))}


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


class CpuMeter:
    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.phases: dict[str, CpuUse] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        wall, machine = time.monotonic(), _machine_ticks()
        server, bench = _tree_ticks(self.server_pid), _own_seconds()
        try:
            yield
        finally:
            seconds = max(1e-9, time.monotonic() - wall)
            after = _tree_ticks(self.server_pid)
            used = [(ticks - server.get(pid, 0)) / _TICK / seconds for pid, ticks in after.items()]
            self.phases[name] = CpuUse(
                seconds,
                (_machine_ticks() - machine) / _TICK / seconds,
                sum(used),
                (_own_seconds() - bench) / seconds,
                tuple(used),
            )
