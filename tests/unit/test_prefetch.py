"""Reading the next export batch on another thread: same batches, same order, read on the
reader's one thread, errors passed on, and the source closed however the consumer stops."""

from __future__ import annotations

import threading
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor

import pytest

from trailkeeper.service.prefetch import prefetched


class Source:
    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.threads: set[str] = set()
        self.closed = False

    def batches(self) -> Generator[list[int]]:
        try:
            for i in range(self.count):
                self.threads.add(threading.current_thread().name)
                if i == self.fail_at:
                    raise RuntimeError("the database went away")
                yield [i, i]
        finally:
            self.closed = True


@pytest.fixture
def reader() -> Generator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(1, thread_name_prefix="reader") as pool:
        yield pool


def test_every_batch_in_order_read_on_the_reader_thread(reader: ThreadPoolExecutor) -> None:
    source = Source(5)
    assert list(prefetched(source.batches(), reader)) == [[i, i] for i in range(5)]
    assert len(source.threads) == 1
    assert next(iter(source.threads)).startswith("reader")
    assert source.closed


def test_an_abandoned_read_closes_its_source(reader: ThreadPoolExecutor) -> None:
    source = Source(100)
    read = prefetched(source.batches(), reader)
    assert next(read) == [0, 0]
    read.close()
    assert source.closed


def test_a_failed_read_reaches_the_consumer(reader: ThreadPoolExecutor) -> None:
    source = Source(5, fail_at=2)
    read = prefetched(source.batches(), reader)
    with pytest.raises(RuntimeError, match="went away"):
        list(read)
    assert source.closed
