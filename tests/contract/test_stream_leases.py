"""A stream's lease on SQLite and PostgreSQL, through separate stores (separate
connection pools, as separate processes have): when several claim a free stream at
once, exactly one gets it; one that does not hold the lease can neither move the
cursor nor change the status; the cursor never goes back; a lease that ran out is
taken over, after which the old holder's writes match nothing; a paused stream is
claimed by no one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from siem import HEC_TOKEN
from support import Api, delete_streams
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
from trailkeeper.storage.protocols import Store
from trailkeeper.storage.streamsql import StreamRecord

CONTENDERS = 6
ROUNDS = 8


@pytest.fixture(autouse=True)
def _own_streams_only(service: Trailkeeper, api: Api) -> Iterator[None]:
    yield
    delete_streams(service, api)


@pytest.fixture
def stores(settings: Settings) -> Iterator[list[Store]]:
    opened = [Trailkeeper.open(settings) for _ in range(3)]
    try:
        yield [s.store for s in opened]
    finally:
        for service in opened:
            service.close()


def new_stream(api: Api) -> str:
    body = {
        "name": "siem", "type": "splunk_hec",
        "config": {"url": "https://93.184.215.14:8088", "token": HEC_TOKEN},
    }  # fmt: skip
    response = api.post("/v1/streams", body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def race(stores: list[Store], stream_id: str, tag: str) -> list[str]:
    """Every contender claims at the same moment; the owners that got the stream."""
    barrier = threading.Barrier(CONTENDERS)
    won: list[str] = []

    def claim(index: int) -> None:
        owner = f"{tag}-process-{index}"
        barrier.wait()
        if stores[index % len(stores)].claim_stream(stream_id, owner, 30) is not None:
            won.append(owner)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(CONTENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return won


def shown(service: Trailkeeper, api: Api, stream_id: str) -> StreamRecord:
    record = service.store.get_stream(service.tenancy.tenant(api.tenant).id, stream_id)
    assert record is not None
    return record


def test_exactly_one_of_several_claimants_gets_a_free_stream(
    api: Api, service: Trailkeeper, stores: list[Store]
) -> None:
    stream_id = new_stream(api)
    for round_ in range(ROUNDS):
        won = race(stores, stream_id, f"round-{round_}")
        assert len(won) == 1, won
        assert shown(service, api, stream_id).lease_owner == won[0]
        assert race(stores, stream_id, f"late-{round_}") == []  # a live lease is not theirs
        service.store.release_stream(stream_id, won[0])


def test_only_the_lease_holder_writes_and_the_cursor_never_goes_back(
    api: Api, service: Trailkeeper, stores: list[Store]
) -> None:
    stream_id = new_stream(api)
    start = shown(service, api, stream_id).cursor_seq
    holder, other = stores[0], stores[1]
    assert holder.claim_stream(stream_id, "holder", 30) is not None
    assert other.stream_progress(stream_id, "intruder", start + 100, 100, 30) is None
    assert other.stream_error(stream_id, "intruder", "x", failing=True, lease_seconds=30) is None
    record = shown(service, api, stream_id)
    assert (record.cursor_seq, record.delivered, record.status) == (start, 0, "active")
    moved = holder.stream_progress(stream_id, "holder", start + 5, 5, 30)
    assert moved is not None
    assert (moved.cursor_seq, moved.delivered) == (start + 5, 5)
    back = holder.stream_progress(stream_id, "holder", start + 2, 0, 30)
    assert back is not None
    assert back.cursor_seq == start + 5


def test_a_lease_that_ran_out_is_taken_over(
    api: Api, service: Trailkeeper, stores: list[Store]
) -> None:
    stream_id = new_stream(api)
    old, new = stores[0], stores[1]
    assert old.claim_stream(stream_id, "stalled", 0.2) is not None
    assert new.claim_stream(stream_id, "successor", 30) is None  # still live
    time.sleep(0.4)
    assert new.claim_stream(stream_id, "successor", 30) is not None
    assert old.stream_progress(stream_id, "stalled", 10**9, 1, 30) is None
    assert old.stream_error(stream_id, "stalled", "x", failing=True, lease_seconds=30) is None
    old.release_stream(stream_id, "stalled")  # a no-op for a lease it lost
    assert shown(service, api, stream_id).lease_owner == "successor"


def test_a_paused_stream_is_not_claimed(
    api: Api, service: Trailkeeper, stores: list[Store]
) -> None:
    stream_id = new_stream(api)
    assert api.post(f"/v1/streams/{stream_id}/pause").status_code == 200
    assert stream_id not in stores[0].claimable_streams(100)
    assert race(stores, stream_id, "paused") == []
