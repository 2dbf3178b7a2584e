"""PostgreSQL: the Merkle tree's state, tiles and checkpoints (see ``IntegrityStore``).

Integration locks the tenant's tree row with ``SKIP LOCKED``: one process integrates a
tenant at a time, and the others move on to the next tenant instead of waiting."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import Connection
from psycopg_pool import ConnectionPool

from trailkeeper.integrity.tiles import extend_tile
from trailkeeper.storage.postgres.named import QUERIES as Q
from trailkeeper.storage.protocols import CheckpointRecord, IntegrateStep, TreeState
from trailkeeper.storage.queries import checkpoint_query
from trailkeeper.storage.trees import EMPTY_TREE, check_contiguous, tree_state_of

__all__ = ["PostgresTree"]


class PostgresTree:
    pool: ConnectionPool

    def tenants_to_integrate(self) -> list[int]:
        with self.pool.connection() as conn:
            return [int(r[0]) for r in conn.execute(Q["tenants_to_integrate"])]

    def integrate(self, tenant_id: int, limit: int, step: IntegrateStep) -> TreeState | None:
        with self.pool.connection() as conn:
            conn.execute(Q["start_tree"], (tenant_id, EMPTY_TREE.root))
            conn.commit()
            with conn.transaction():
                row = conn.execute(Q["lock_tree"], (tenant_id,)).fetchone()
                if row is None:
                    return None  # another process is integrating this tenant
                state = tree_state_of(row[0], bytes(row[1]), bytes(row[2]))
                rows = conn.execute(Q["leaves_from"], (tenant_id, state.size, limit)).fetchall()
                if not rows:
                    return state
                check_contiguous(state.size, [r[0] for r in rows])
                new_state, additions = step(state, [bytes(r[1]) for r in rows])
                stored = self._tiles(conn, tenant_id, additions.keys())
                with conn.cursor() as cur:
                    cur.executemany(
                        Q["put_tile"],
                        [
                            (tenant_id, level, index,
                             extend_tile(stored.get((level, index), b""), adds))
                            for (level, index), adds in additions.items()
                        ],
                    )  # fmt: skip
                conn.execute(
                    Q["put_tree"],
                    (new_state.size, b"".join(new_state.edge), new_state.root, tenant_id),
                )
        return new_state

    def tree_state(self, tenant_id: int) -> TreeState:
        with self.pool.connection() as conn:
            row = conn.execute(Q["tree_state"], (tenant_id,)).fetchone()
        if row is None:
            return EMPTY_TREE
        return tree_state_of(row[0], bytes(row[1]), bytes(row[2]))

    def read_tiles(
        self, tenant_id: int, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        with self.pool.connection() as conn:
            return self._tiles(conn, tenant_id, keys)

    @staticmethod
    def _tiles(
        conn: Connection[Any], tenant_id: int, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = conn.execute(Q["tiles"], ([k[0] for k in wanted], [k[1] for k in wanted], tenant_id))
        return {(r[0], r[1]): bytes(r[2]) for r in rows}

    def add_checkpoint(self, tenant_id: int, size: int, root: bytes, note: str) -> None:
        with self.pool.connection() as conn:
            conn.execute(Q["add_checkpoint"], (tenant_id, size, root, note))

    def checkpoint(self, tenant_id: int, size: int | None = None) -> CheckpointRecord | None:
        name, params = checkpoint_query(tenant_id, size)
        with self.pool.connection() as conn:
            row = conn.execute(Q[name], params).fetchone()
        return None if row is None else _checkpoint(row)

    def checkpoints(self, tenant_id: int) -> list[CheckpointRecord]:
        with self.pool.connection() as conn:
            return [_checkpoint(r) for r in conn.execute(Q["checkpoints"], (tenant_id,))]


def _checkpoint(row: Sequence[Any]) -> CheckpointRecord:
    return CheckpointRecord(int(row[0]), bytes(row[1]), str(row[2]), row[3])
