"""The stored checkpoints: which are validly signed, and whether consecutive ones that
match the events are consistent by a proof built from the stored tiles."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import pairwise
from typing import Protocol

from trailkeeper.integrity import (
    IntegrityError,
    Verifier,
    consistency_plan,
    open_checkpoint,
    origin_for_tenant,
    verify_consistency,
)
from trailkeeper.integrity.tiles import node_from_tiles, tile_key
from trailkeeper.storage.protocols import CheckpointRecord
from trailkeeper.verify.report import Problem, TrustedCheckpoint

__all__ = ["SignedCheckpoints", "TileStore", "check_checkpoints", "consistency_problems"]


class TileStore(Protocol):
    def read_tiles(
        self, tenant_id: int, keys: Iterable[tuple[int, int]]
    ) -> Mapping[tuple[int, int], bytes]: ...


SignedCheckpoints = tuple[list[TrustedCheckpoint], list[Problem], int]
"""What the checkpoints sign (by size), the problems, and how many were validly signed."""


def check_checkpoints(
    records: Sequence[CheckpointRecord], verifier: Verifier, tenant: str
) -> SignedCheckpoints:
    """Verify every stored checkpoint's signature and origin, and that the stored size and
    root are those the note signs."""
    origin = origin_for_tenant(tenant)
    trusted: list[TrustedCheckpoint] = []
    problems: list[Problem] = []
    signed_count = 0
    for record in records:
        try:
            signed = open_checkpoint(record.note, verifier, origin=origin)
        except IntegrityError as exc:
            problems.append(
                Problem(
                    None,
                    "checkpoint",
                    f"the stored checkpoint of size {record.size} is not validly signed by "
                    f"{verifier.name}+{verifier.key_id:08x} for {origin}: {exc}",
                )
            )
            continue
        signed_count += 1
        if signed.size != record.size or signed.root_hash != record.root:
            problems.append(
                Problem(
                    None,
                    "checkpoint",
                    f"the stored checkpoint of size {record.size} has a size or root column that "
                    f"differs from its signed note (size {signed.size})",
                )
            )
        trusted.append(TrustedCheckpoint(signed.size, signed.root_hash))
    unique = {c.size: c for c in trusted}
    return sorted(unique.values(), key=lambda c: c.size), problems, signed_count


def consistency_problems(
    store: TileStore, tenant_id: int, checkpoints: Sequence[TrustedCheckpoint], matched: set[int]
) -> Iterator[Problem]:
    """Consecutive checkpoints that both match the events must also be consistent by a proof
    built from the stored tiles, exactly as ``GET /v1/proofs/consistency`` serves it."""
    for first, second in pairwise(checkpoints):
        if first.size not in matched or second.size not in matched:
            continue  # already reported: a root that does not match the events
        plan = consistency_plan(first.size, second.size)
        try:
            tiles = store.read_tiles(tenant_id, {tile_key(n) for n in plan.node_ids})
            proof = plan.assemble([node_from_tiles(n, tiles) for n in plan.node_ids])
            verify_consistency(first.size, second.size, proof, first.root, second.root)
        except IntegrityError as exc:
            yield Problem(
                None,
                "tree",
                f"no valid consistency proof from checkpoint {first.size} to {second.size} can "
                f"be built from the stored Merkle tree: {exc}",
            )
