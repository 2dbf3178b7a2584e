"""SQLite group commit: batches queued while another is written share one transaction,
each still all or nothing, and no caller is answered before the commit that holds it."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from support import make_event
from trailkeeper.errors import Conflict
from trailkeeper.events.batch import drafts_from_events
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.groupcommit import MAX_GROUP, GroupCommit

TIMEOUT = 10.0


def _wait_for(condition: Any) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


class Ledger:
    """``apply`` for the tests: insert the request's values; a negative one fails."""

    def __init__(self, path: Path) -> None:
        self.conns = SQLiteConnections(path)
        with self.conns.write() as conn:
            conn.execute("CREATE TABLE items (value INTEGER PRIMARY KEY)")
        self.transactions: set[int] = set()
        self.group = GroupCommit(self.conns, self.apply)

    def apply(self, conn: sqlite3.Connection, values: list[int]) -> list[int]:
        self.transactions.add(id(conn))
        for value in values:
            conn.execute("INSERT INTO items VALUES (?)", (abs(value),))
            if value < 0:
                raise ValueError(f"bad value {value}")
        return values

    def stored(self) -> list[int]:
        rows = self.conns.connection().execute("SELECT value FROM items ORDER BY value")
        return [r[0] for r in rows]


def _submit_queued(ledger: Ledger, requests: list[list[int]]) -> dict[int, Any]:
    """Submit every request from its own thread while the write lock is held, so that
    all of them are queued before the first leader starts."""
    outcomes: dict[int, Any] = {}

    def submit(index: int) -> None:
        try:
            outcomes[index] = ledger.group.submit(requests[index])
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(len(requests))]
    with ledger.conns.write_lock:
        for thread in threads:
            thread.start()
        _wait_for(lambda: len(ledger.group._queue) == len(requests))
    for thread in threads:
        thread.join(TIMEOUT)
    return outcomes


def test_queued_batches_commit_together_and_fail_alone(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "db.sqlite3")
    requests = [[1, 2], [3, -4], [5], [2], [6]]  # [3, -4] fails; [2] repeats a key
    outcomes = _submit_queued(ledger, requests)

    assert outcomes[0] == [1, 2]
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == [5]
    assert outcomes[4] == [6]
    # the repeated key failed against the group's own earlier batch, which it sees
    assert isinstance(outcomes[3], sqlite3.IntegrityError)
    assert ledger.stored() == [1, 2, 5, 6]  # nothing of the failed batches


def test_a_group_is_at_most_max_group_batches(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "db.sqlite3")
    requests = [[n] for n in range(1, 2 * MAX_GROUP + 2)]
    outcomes = _submit_queued(ledger, requests)
    assert [outcomes[n] for n in range(len(requests))] == requests
    assert ledger.stored() == list(range(1, 2 * MAX_GROUP + 2))


def test_a_failed_commit_fails_every_batch_of_the_group(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "db.sqlite3")
    with ledger.conns.write() as conn:
        conn.execute(
            "CREATE TABLE refs "
            "(item INTEGER REFERENCES items (value) DEFERRABLE INITIALLY DEFERRED)"
        )

    def dangling(conn: sqlite3.Connection, values: list[int]) -> list[int]:
        ledger.apply(conn, values)
        if values == [99]:  # a deferred foreign key: checked only by COMMIT
            conn.execute("INSERT INTO refs VALUES (12345)")
        return values

    ledger.group = GroupCommit(ledger.conns, dangling)
    outcomes = _submit_queued(ledger, [[1], [99], [2]])
    assert all(isinstance(outcomes[n], sqlite3.IntegrityError) for n in range(3)), outcomes
    assert ledger.stored() == []
    assert ledger.group.submit([3]) == [3]  # the connection is usable again
    assert ledger.stored() == [3]


def test_concurrent_appends_give_gapless_seqs(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "trailkeeper.sqlite3")
    store.migrate()
    tenant = store.create_tenant("t", b"secret")
    store.append(tenant.id, drafts_from_events([make_event(0)]))
    batches = [[make_event(b * 100 + n + 1) for n in range(50)] for b in range(8)]
    batches.append([make_event(0, action="card.other")])  # a stored id, other content
    errors: list[Exception] = []
    receipts: list[Any] = []

    def append(events: list[dict[str, Any]]) -> None:
        try:
            receipts.extend(store.append(tenant.id, drafts_from_events(events)))
        except Exception as exc:
            errors.append(exc)

    with ThreadPoolExecutor(len(batches)) as pool:
        list(pool.map(append, batches))
    try:
        assert [type(e) for e in errors] == [Conflict]
        assert sorted(r.seq for r in receipts) == list(range(1, 401))
        conn = store.conns.connection()
        assert conn.execute("SELECT count(*), max(seq) FROM events").fetchone() == (401, 400)
        assert conn.execute("SELECT next_seq FROM tenants").fetchone() == (401,)
        for receipt in receipts:
            stored = store.get_event(tenant.id, receipt.id)
            assert stored is not None
            assert (stored["seq"], stored["leaf_hash"]) == (receipt.seq, receipt.leaf_hash)
    finally:
        store.close()


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Any:
    before = threading.active_count()
    yield
    _wait_for(lambda: threading.active_count() <= before)


def test_run_writes_given_batches_in_one_transaction_each_all_or_nothing(
    tmp_path: Path,
) -> None:
    """``run`` (the API's ingest queue): one commit for the whole list, a failing batch
    answered with its exception and rolled back alone, results in order."""
    ledger = Ledger(tmp_path / "db.sqlite3")
    transaction = ledger.conns.transaction
    opened: list[int] = []

    def counted(conn: sqlite3.Connection) -> Any:
        opened.append(1)
        return transaction(conn)

    ledger.conns.transaction = counted  # type: ignore[method-assign]
    outcomes = ledger.group.run([[1, 2], [3, -4], [5], [2]])
    assert outcomes[0] == [1, 2]
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == [5]
    assert isinstance(outcomes[3], sqlite3.IntegrityError)
    assert ledger.stored() == [1, 2, 5]
    assert opened == [1], "one transaction (one commit) for the whole list"
