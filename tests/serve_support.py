"""``trailkeeper serve`` as a real child process, started in a given folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from support import free_port

EXE = Path(sys.executable).parent / "trailkeeper"
NARROW = {"COLUMNS": "40", "TERM": "xterm-256color"}


def wait_until(check: Callable[[], object], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.05)


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def serving(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """``trailkeeper serve ARGS`` in ``cwd`` on a free port; yields (url, stderr file, process)."""
    port = free_port()
    log = cwd / f"serve-{port}.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRAILKEEPER_")}
    with log.open("wb") as err:
        process = subprocess.Popen(
            [str(EXE), "serve", "--port", str(port), *args],
            cwd=cwd, env={**clean, **(env or {})}, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: ready(url) or process.poll() is not None, "serve is ready", 120)
        assert process.poll() is None, log.read_text()
        yield url, log, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
