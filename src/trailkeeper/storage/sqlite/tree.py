"""SQLite: the Merkle tree's state, tiles and checkpoints (see ``IntegrityStore``).

Integration runs under the one writer's lock, so the tree needs no lock of its own."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from trailkeeper.events.timestamps import from_micros
from trailkeeper.integrity.tiles import extend_tile
from trailkeeper.storage.protocols import CheckpointRecord, IntegrateStep, TreeState
from trailkeeper.storage.queries import checkpoint_query
from trailkeeper.storage.sqlite.connections import SQLiteConnections
from trailkeeper.storage.sqlite.named import QUERIES as Q
from trailkeeper.storage.trees import EMPTY_TREE, check_contiguous, tree_state_of

__all__ = ["SQLiteTree"]


class SQLiteTree:
    conns: SQLiteConnections
    _now_micros: Callable[[], int]

    def tenants_to_integrate(self) -> list[int]:
        return [int(r[0]) for r in self.conns.connection().execute(Q["tenants_to_integrate"])]

    def integrate(self, tenant_id: int, limit: int, step: IntegrateStep) -> TreeState | None:
        with self.conns.write() as conn:
            state = self._tree_state(conn, tenant_id)
            rows = conn.execute(Q["leaves_from"], (tenant_id, state.size, limit)).fetchall()
            if not rows:
                return state
            check_contiguous(state.size, [r[0] for r in rows])
            new_state, additions = step(state, [bytes(r[1]) for r in rows])
            stored = self._tiles(conn, tenant_id, additions.keys())
            conn.executemany(
                Q["put_tile"],
                [
                    (tenant_id, level, index, extend_tile(stored.get((level, index), b""), adds))
                    for (level, index), adds in additions.items()
                ],
            )
            conn.execute(
                Q["put_tree"],
                (tenant_id, new_state.size, b"".join(new_state.edge), new_state.root,
                 self._now_micros()),
            )  # fmt: skip
        return new_state

    def tree_state(self, tenant_id: int) -> TreeState:
        return self._tree_state(self.conns.connection(), tenant_id)

    @staticmethod
    def _tree_state(conn: sqlite3.Connection, tenant_id: int) -> TreeState:
        row = conn.execute(Q["tree_state"], (tenant_id,)).fetchone()
        return EMPTY_TREE if row is None else tree_state_of(row[0], bytes(row[1]), bytes(row[2]))

    def read_tiles(
        self, tenant_id: int, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        return self._tiles(self.conns.connection(), tenant_id, keys)

    @staticmethod
    def _tiles(
        conn: sqlite3.Connection, tenant_id: int, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        found: dict[tuple[int, int], bytes] = {}
        for level, index in sorted(set(keys)):  # one primary-key lookup each
            row = conn.execute(Q["tiles"], (tenant_id, level, index)).fetchone()
            if row is not None:
                found[(level, index)] = bytes(row[0])
        return found

    def add_checkpoint(self, tenant_id: int, size: int, root: bytes, note: str) -> None:
        with self.conns.write() as conn:
            conn.execute(Q["add_checkpoint"], (tenant_id, size, root, note, self._now_micros()))

    def checkpoint(self, tenant_id: int, size: int | None = None) -> CheckpointRecord | None:
        name, params = checkpoint_query(tenant_id, size)
        row = self.conns.connection().execute(Q[name], params).fetchone()
        return None if row is None else _checkpoint(row)

    def checkpoints(self, tenant_id: int) -> list[CheckpointRecord]:
        rows = self.conns.connection().execute(Q["checkpoints"], (tenant_id,))
        return [_checkpoint(r) for r in rows]


def _checkpoint(row: Sequence[Any]) -> CheckpointRecord:
    return CheckpointRecord(int(row[0]), bytes(row[1]), str(row[2]), from_micros(row[3]))
