"""``python -m bench.integrity``: the Merkle tree's figures, each beside a baseline.

- append: ``CompactRange`` over N leaf hashes vs the ``pymerkle`` package (InmemoryTree).
- integrate: the store's integrate step (read leaves, extend the tree, write tiles and
  state) vs a plain SELECT of the same leaf hashes from the same database.
- proofs: inclusion and consistency proofs from stored tiles at 1M and 10M leaves vs
  the raw tile reads they need; and pymerkle's in-memory proofs at 1M.
The events for "integrate" are inserted raw (only the columns integration reads are
meaningful); the 10M-leaf trees for "proofs" are written tile by tile with the same
``integrate_step`` the service uses, without 10M event rows.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from pymerkle import InmemoryTree
from rich.console import Console

from bench.report import Figure, render, write_json
from trailkeeper.integrity import HASH_SIZE, CompactRange, inclusion_plan
from trailkeeper.integrity.tiles import TILE_HEIGHT, TILE_WIDTH, extend_tile, tile_key
from trailkeeper.service.integrity import IntegrityService, integrate_step
from trailkeeper.settings import Settings
from trailkeeper.signing import load_signer
from trailkeeper.storage import Store, open_store
from trailkeeper.storage.protocols import TreeState

RESULTS = Path(__file__).resolve().parent / "results" / "integrity.json"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
CHUNK = 100_000


def leaf_hashes(count: int, start: int = 0) -> Iterator[bytes]:
    for i in range(start, start + count):
        yield hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest()


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# --- append: CompactRange vs pymerkle ------------------------------------------
def bench_append(count: int) -> list[Figure]:
    leaves = list(leaf_hashes(count))
    edge = CompactRange()
    ours = timed(
        lambda: [
            edge.extend_levels(leaves[i : i + CHUNK], TILE_HEIGHT) for i in range(0, count, CHUNK)
        ]
    )
    tree = InmemoryTree(algorithm="sha256")
    data = [i.to_bytes(8, "big") for i in range(count)]
    theirs = timed(lambda: [tree.append_entry(d) for d in data])
    assert tree.get_root() == edge.root(), "pymerkle and trailkeeper disagree on the root"
    figures = [
        Figure("tree", f"append {count:,} leaves", count / ours, "leaves/s", count / theirs,
               "pymerkle InmemoryTree", "ours/pymerkle", "", None),
    ]  # fmt: skip
    # in-memory proofs, both libraries, same tree
    rng = random.Random(1)
    ours_s, theirs_s = [], []
    hashes_by_node: dict[Any, bytes] = {}
    stack = CompactRange()
    for node, digest in stack.extend(leaves):
        hashes_by_node[node] = digest
    for _ in range(300):
        index = rng.randrange(count)
        started = time.perf_counter()
        plan = inclusion_plan(index, count)
        plan.assemble([hashes_by_node[n] for n in plan.node_ids])
        ours_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        tree.prove_inclusion(index + 1, count)
        theirs_s.append(time.perf_counter() - started)
    figures.append(
        Figure("tree", f"inclusion proof p95, {count:,} leaves in memory", p95(ours_s), "ms",
               p95(theirs_s), "pymerkle prove_inclusion p95", "ours/pymerkle", "", None)
    )  # fmt: skip
    return figures


# --- stores --------------------------------------------------------------------
class Scratch:
    """A fresh store (temp SQLite file or scratch PostgreSQL database) with one tenant."""

    def __init__(self, backend: str, admin_url: str) -> None:
        self.backend = backend
        self.admin_url = admin_url
        self.dir = Path(tempfile.mkdtemp(prefix="trailkeeper-bench-integrity-"))
        self.database = f"bench_integrity_{uuid.uuid4().hex[:8]}"
        url = None
        if backend == "postgresql":
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.database}"')
            url = admin_url.rsplit("/", 1)[0] + "/" + self.database
        self.settings = Settings(data_dir=self.dir, database_url=url)
        self.store: Store = open_store(self.settings)
        self.store.migrate()
        self.tenant_id = self.store.create_tenant("bench", b"-").id
        self.integrity = IntegrityService(self.store, load_signer(self.settings))

    def execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        store: Any = self.store
        if self.backend == "sqlite":
            with store.conns.write() as conn:
                conn.executemany(sql, rows)
        else:
            with store.pool.connection() as conn, conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)

    def fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        store: Any = self.store
        if self.backend == "sqlite":
            return list(store.conns.connection().execute(sql, params))
        with store.pool.connection() as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()

    def close(self) -> None:
        self.store.close()
        if self.backend == "postgresql":
            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def insert_events(scratch: Scratch, count: int) -> None:
    """Raw rows carrying the leaf hashes integration reads."""
    # PostgreSQL: now, whose month's partition the store made when it opened
    now: Any = datetime.now(UTC) if scratch.backend == "postgresql" else 0
    for start in range(0, count, CHUNK):
        rows = [
            (scratch.tenant_id, seq, f"e{seq}", "a.b", "a", now, now, "u", "user", "api", "-",
             leaf, b"-")
            for seq, leaf in enumerate(leaf_hashes(min(CHUNK, count - start), start), start)
        ]  # fmt: skip
        scratch.execute_many(
            "INSERT INTO events (tenant_id, seq, id, action, category, occurred_at, received_at, "
            "actor_id, actor_type, source, pii, leaf_hash, content_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    scratch.execute_many(
        "UPDATE tenants SET next_seq = ? WHERE id = ?", [(count, scratch.tenant_id)]
    )


def bench_integrate(scratch: Scratch, count: int) -> Figure:
    insert_events(scratch, count)
    baseline = timed(
        lambda: scratch.fetch(
            "SELECT seq, leaf_hash FROM events WHERE tenant_id = ? ORDER BY seq",
            (scratch.tenant_id,),
        )
    )
    took = timed(lambda: scratch.integrity.integrate(scratch.tenant_id))
    state = scratch.store.tree_state(scratch.tenant_id)
    assert state.size == count
    assert state.root == CompactRange_root(count)
    return Figure(scratch.backend, f"integrate {count:,} leaves", count / took, "leaves/s",
                  count / baseline, "SELECT of the leaf hashes", "integrate/select",
                  "≥ 100,000", count / took >= 100_000)  # fmt: skip


def CompactRange_root(count: int) -> bytes:  # noqa: N802 (mirrors the class)
    edge = CompactRange()
    for start in range(0, count, CHUNK):
        edge.extend(list(leaf_hashes(min(CHUNK, count - start), start)))
    return edge.root()


def write_tree(scratch: Scratch, count: int) -> None:
    """Tiles and state for ``count`` synthetic leaves, via integrate_step."""
    state = TreeState(0, (), b"")
    stored: dict[tuple[int, int], bytes] = {}
    for start in range(0, count, CHUNK):
        state, additions = integrate_step(
            state, list(leaf_hashes(min(CHUNK, count - start), start))
        )
        rows = []
        for key, entries in additions.items():
            blob = extend_tile(stored.pop(key, b""), entries)
            if len(blob) < TILE_WIDTH * HASH_SIZE:
                stored[key] = blob  # partial: keep extending it
            rows.append((scratch.tenant_id, key[0], key[1], blob))
        scratch.execute_many(
            "INSERT INTO tree_tiles VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, level, idx) "
            "DO UPDATE SET hashes = excluded.hashes",
            rows,
        )
    edge = b"".join(state.edge)
    if scratch.backend == "sqlite":
        sql = "INSERT OR REPLACE INTO tree_state VALUES (?, ?, ?, ?, 0)"
    else:
        sql = "INSERT INTO tree_state (tenant_id, size, edge, root) VALUES (?, ?, ?, ?)"
    scratch.execute_many(sql, [(scratch.tenant_id, state.size, edge, state.root)])


def bench_proofs(scratch: Scratch, sizes: list[int], requests: int) -> list[Figure]:
    write_tree(scratch, max(sizes))
    rng = random.Random(7)
    figures = []
    integrity = scratch.integrity
    for size in sizes:
        inclusion, consistency, reads = [], [], []
        for _ in range(requests):
            seq = rng.randrange(size)
            inclusion.append(
                timed(lambda s=seq, n=size: integrity.inclusion_hashes(scratch.tenant_id, s, n))
            )
            first = rng.randrange(1, size + 1)
            consistency.append(
                timed(lambda m=first, n=size: integrity.consistency_hashes(scratch.tenant_id, m, n))
            )
            keys = {tile_key(n) for n in inclusion_plan(seq, size).node_ids}
            reads.append(timed(lambda k=keys: scratch.store.read_tiles(scratch.tenant_id, k)))
        for name, samples in (("inclusion", inclusion), ("consistency", consistency)):
            value = p95(samples)
            figures.append(
                Figure(scratch.backend, f"{name} proof p95, {size:,} leaves", value, "ms",
                       p95(reads), "raw tile reads p95", "proof/reads", "≤ 5 ms", value <= 5)
            )  # fmt: skip
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.integrity")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--leaves", type=int, default=1_000_000, help="leaves for append/integrate")
    parser.add_argument("--proof-sizes", default="1000000,10000000")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.proof_sizes.split(",")]
    figures = bench_append(args.leaves)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        for job in ("integrate", "proofs"):
            scratch = Scratch(backend, args.admin_url)
            try:
                if job == "integrate":
                    figures.append(bench_integrate(scratch, args.leaves))
                else:
                    figures.extend(bench_proofs(scratch, sizes, args.requests))
            finally:
                scratch.close()
    render(figures, Console(), "trailkeeper integrity benchmarks")
    write_json(RESULTS, {"leaves": args.leaves, "proof_sizes": sizes}, figures, None)


if __name__ == "__main__":
    main()
