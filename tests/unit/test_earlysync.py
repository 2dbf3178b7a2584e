"""Early syncs of a growing export file: every byte reaches the file, a sync starts each
time enough was written (never two at once), and a failed sync is raised, not lost."""

from __future__ import annotations

from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from trailkeeper.service.earlysync import EarlySync


class CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(1)
        self.calls: list[str] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls.append(fn.__name__)
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def syncer() -> Generator[CountingExecutor]:
    with CountingExecutor() as executor:
        yield executor


def test_writes_pass_through_and_syncs_start_as_the_file_grows(
    tmp_path: Path, syncer: CountingExecutor
) -> None:
    path = tmp_path / "export.part"
    with path.open("wb") as out:
        early = EarlySync(out, syncer, every=1000)
        for _ in range(10):
            assert early.write(b"x" * 400) == 400
            early.finish()  # let each sync end, so that the next may start
        early.flush()
    assert path.read_bytes() == b"x" * 4000
    assert syncer.calls == ["fdatasync"] * 3  # after 1200, 2400 and 3600 bytes


def test_a_failed_sync_is_raised(syncer: CountingExecutor) -> None:
    class NoDisk:
        """A file without a descriptor to sync: the sync fails."""

        def write(self, data: bytes) -> int:
            return len(data)

        def flush(self) -> None:
            pass

        def fileno(self) -> int:
            return 2**30  # never open

    early = EarlySync(NoDisk(), syncer, every=10)  # type: ignore[arg-type]
    early.write(b"y" * 20)
    with pytest.raises(OSError, match="Bad file descriptor"):
        early.finish()
