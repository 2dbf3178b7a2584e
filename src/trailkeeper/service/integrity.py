"""Integrate, publish, prove: the log's Merkle tree after sequencing (Tessera's
lifecycle). Sequencing (``append``) gives events their ``seq``; integration
folds their leaf hashes into the stored tree; publishing signs a checkpoint.
Checkpoints are never signed for a tree inconsistent with the previous one."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from trailkeeper.errors import InvalidRequest, NotFound
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.events.view import EventView
from trailkeeper.integrity import (
    Checkpoint,
    CompactRange,
    NodeID,
    Signer,
    consistency_plan,
    hash_children,
    inclusion_plan,
    origin_for_tenant,
    range_nodes,
    sign_checkpoint,
    verify_consistency,
)
from trailkeeper.integrity.merkle import EMPTY_ROOT
from trailkeeper.integrity.tiles import TILE_HEIGHT, node_from_tiles, tile_entries, tile_key
from trailkeeper.storage.protocols import CheckpointRecord, IntegrityStore, TileAdditions, TreeState
from trailkeeper.storage.tenants import TenantLookup

__all__ = ["INTEGRATE_BATCH", "IntegrityService", "TreeStore", "checkpoint_view", "integrate_step"]

log = logging.getLogger("trailkeeper.integrity")
INTEGRATE_BATCH = 20_000


def integrate_step(state: TreeState, leaves: Sequence[bytes]) -> tuple[TreeState, TileAdditions]:
    """Pure: extend the tree's right edge with ``leaves``; return the new state and the
    tile entries the completed nodes add."""
    edge = CompactRange(state.size, state.edge)
    completed = edge.extend_levels(leaves, TILE_HEIGHT)
    return TreeState(edge.size, tuple(edge.hashes), edge.root()), tile_entries(completed)


class TreeStore(IntegrityStore, TenantLookup, Protocol):
    """The tree, its tiles and checkpoints, and the tenant a checkpoint names."""


class IntegrityService:
    def __init__(self, store: TreeStore, signer: Signer) -> None:
        self._store = store
        self.signer = signer

    @property
    def verifier_key(self) -> str:
        return self.signer.verifier().key_string

    # integrate and publish ------------------------------------------------
    def integrate(self, tenant_id: int) -> TreeState | None:
        """Integrate everything sequenced so far (None if another process holds it)."""
        state = None
        while True:
            step = self._store.integrate(tenant_id, INTEGRATE_BATCH, integrate_step)
            if step is None:
                return state
            if state is not None and step.size == state.size:
                return step
            state = step

    def publish(self, tenant_id: int) -> CheckpointRecord | None:
        """Sign a checkpoint for the integrated tree if it grew since the last one."""
        state = self._store.tree_state(tenant_id)
        latest = self._store.checkpoint(tenant_id)
        if state.size == 0 or (latest is not None and latest.size >= state.size):
            return latest
        if latest is not None:
            proof = self.consistency_hashes(tenant_id, latest.size, state.size)
            verify_consistency(latest.size, state.size, proof, latest.root, state.root)
        tenant = self._store.tenant_by_id(tenant_id)
        assert tenant is not None
        checkpoint = Checkpoint(origin_for_tenant(tenant.name), state.size, state.root)
        self._store.add_checkpoint(
            tenant_id, state.size, state.root, sign_checkpoint(checkpoint, self.signer)
        )
        return self._store.checkpoint(tenant_id, state.size)

    def sync(self, tenant_id: int) -> CheckpointRecord | None:
        """Integrate and publish now (on demand, and in tests)."""
        self.integrate(tenant_id)
        return self.publish(tenant_id)

    def run_once(self) -> int:
        """One pass of the background worker: every tenant with new events."""
        done = 0
        for tenant_id in self._store.tenants_to_integrate():
            if self.integrate(tenant_id) is not None:
                self.publish(tenant_id)
                done += 1
        return done

    # read -------------------------------------------------------------------
    def latest(self, tenant_id: int) -> CheckpointRecord:
        latest = self._store.checkpoint(tenant_id)
        if latest is None:
            raise NotFound(
                "No checkpoint yet: the first is signed within seconds of the first event"
            )
        return latest

    def _nodes(self, tenant_id: int, nodes: Sequence[NodeID]) -> list[bytes]:
        tiles = self._store.read_tiles(tenant_id, {tile_key(n) for n in nodes})
        return [node_from_tiles(n, tiles) for n in nodes]

    def root_at(self, tenant_id: int, size: int) -> bytes:
        """Root of the tree's first ``size`` leaves, from stored tiles."""
        if size == 0:
            return EMPTY_ROOT
        hashes = self._nodes(tenant_id, range_nodes(0, size))
        root = hashes[-1]
        for left in reversed(hashes[:-1]):
            root = hash_children(left, root)
        return root

    def _check_size(self, tenant_id: int, size: int, name: str, least: int = 0) -> None:
        integrated = self._store.tree_state(tenant_id).size
        if size < least or size > integrated:
            raise InvalidRequest(
                f"'{name}' must be between {least} and the integrated tree size {integrated}"
            )

    def inclusion_hashes(self, tenant_id: int, seq: int, size: int) -> list[bytes]:
        self._check_size(tenant_id, size, "tree_size", least=1)
        if not 0 <= seq < size:
            raise InvalidRequest(f"'seq' must be at least 0 and less than tree_size {size}")
        plan = inclusion_plan(seq, size)
        return plan.assemble(self._nodes(tenant_id, plan.node_ids))

    def consistency_hashes(self, tenant_id: int, first: int, second: int) -> list[bytes]:
        self._check_size(tenant_id, second, "second")
        if not 0 <= first <= second:
            raise InvalidRequest("'first' must be between 0 and 'second'")
        plan = consistency_plan(first, second)
        return plan.assemble(self._nodes(tenant_id, plan.node_ids))

    def event_proof(self, tenant_id: int, view: EventView) -> dict[str, Any] | None:
        """An inclusion proof for one event against the latest checkpoint, or None
        while no checkpoint covers it yet."""
        latest = self._store.checkpoint(tenant_id)
        if latest is None or view["seq"] >= latest.size:
            return None
        hashes = self.inclusion_hashes(tenant_id, view["seq"], latest.size)
        return {
            "leaf_index": view["seq"],
            "tree_size": latest.size,
            "hashes": [h.hex() for h in hashes],
            "root_hash": latest.root.hex(),
            "checkpoint": latest.note,
        }


def checkpoint_view(record: CheckpointRecord) -> dict[str, Any]:
    return {
        "tree_size": record.size,
        "root_hash": record.root.hex(),
        "root_hash_base64": base64.b64encode(record.root).decode(),
        "checkpoint": record.note,
        "created_at": format_timestamp(record.created_at),
    }
