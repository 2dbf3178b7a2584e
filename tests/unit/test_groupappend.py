"""SQLite: a group of batches written together (``groupappend``) leaves the log, the
receipts and the refusals exactly as writing each batch in its own savepoint does (the
reference way ``GroupCommit`` falls back to); and a group that fails is written that way."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from profiles import examples
from support import make_event
from trailkeeper.events.batch import drafts_from_events
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.groupcommit import GroupCommit

_TABLES = (
    "SELECT tenant_id, seq, id, content_hash, actor_id, action FROM events ORDER BY tenant_id, seq",
    "SELECT tenant_id, actor_id, name, email, events FROM actor_texts ORDER BY 1, 2, 3, 4",
    "SELECT tenant_id, action, events FROM action_counts ORDER BY 1, 2",
    "SELECT id, next_seq FROM tenants ORDER BY id",
)


@contextmanager
def _store(together: bool) -> Iterator[tuple[SQLiteStore, list[int]]]:
    with tempfile.TemporaryDirectory(prefix="tk-group-") as folder:
        store = SQLiteStore(Path(folder) / "db.sqlite3")
        try:
            store.migrate()
            tenants = [store.create_tenant(name, b"secret").id for name in ("a", "b")]
            if not together:
                store._appends.apply_group = None  # the reference: a savepoint per batch
            yield store, tenants
        finally:
            store.close()


def _event(spec: tuple[int, int, int]) -> dict[str, Any]:
    number, variant, actor = spec
    return make_event(
        number,
        action=f"card.v{variant}",
        actor={"id": f"u_{actor}", "name": f"User {actor}", "email": None},
    )


_batch = st.tuples(
    st.integers(0, 1),  # tenant
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 1), st.integers(0, 2)), max_size=4),
)


def _answers(results: list[Any]) -> list[Any]:
    """Receipts without their leaf hashes (they hold the time received), or the error."""
    return [
        (type(r).__name__, str(r))
        if isinstance(r, Exception)
        else [(receipt.id, receipt.seq) for receipt in r]
        for r in results
    ]


def _run(together: bool, groups: list[list[tuple[int, list[Any]]]]) -> tuple[Any, Any]:
    with _store(together) as (store, tenants):
        answers = []
        for group in groups:
            batches = [
                (tenants[tenant], drafts_from_events([_event(s) for s in specs]))
                for tenant, specs in group
            ]
            answers.append(_answers(store.append_many(batches)))
        assert store._appends.declined == 0  # each group was written one way, not both
        conn = store.conns.connection()
        return answers, [conn.execute(sql).fetchall() for sql in _TABLES]


@settings(max_examples=examples(40), deadline=None)
@given(st.lists(st.lists(_batch, min_size=1, max_size=5), min_size=1, max_size=2))
def test_a_group_written_together_is_written_as_batch_by_batch(
    groups: list[list[tuple[int, list[Any]]]],
) -> None:
    assert _run(True, groups) == _run(False, groups)


def test_a_group_that_fails_together_is_written_batch_by_batch(tmp_path: Path) -> None:
    conns = SQLiteConnections(tmp_path / "db.sqlite3")
    with conns.write() as conn:
        conn.execute("CREATE TABLE items (value INTEGER PRIMARY KEY)")

    def one(conn: sqlite3.Connection, values: list[int]) -> list[int]:
        for value in values:
            conn.execute("INSERT INTO items VALUES (?)", (abs(value),))
            if value < 0:
                raise ValueError(f"bad value {value}")
        return values

    def together(conn: sqlite3.Connection, requests: list[list[int]]) -> list[Any]:
        conn.execute("INSERT INTO items VALUES (?)", (99,))
        raise sqlite3.IntegrityError("refused together")

    group = GroupCommit(conns, one, together)
    results = group.run([[1, 2], [3, -4], [5]])
    assert group.declined == 1
    assert results[0] == [1, 2]
    assert results[2] == [5]
    assert isinstance(results[1], ValueError)
    rows = conns.connection().execute("SELECT value FROM items ORDER BY value").fetchall()
    assert [r[0] for r in rows] == [1, 2, 5]  # nothing of the failed try (99), nor of [3, -4]
    conns.close()
