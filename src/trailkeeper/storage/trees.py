"""Small pieces of tree bookkeeping shared by both stores."""

from __future__ import annotations

from collections.abc import Sequence

from trailkeeper.integrity import EMPTY_ROOT, HASH_SIZE, IntegrityError
from trailkeeper.storage.protocols import TreeState

__all__ = ["EMPTY_TREE", "check_contiguous", "tree_state_of"]

EMPTY_TREE = TreeState(size=0, edge=(), root=EMPTY_ROOT)


def tree_state_of(size: int, edge: bytes, root: bytes) -> TreeState:
    hashes = tuple(edge[i : i + HASH_SIZE] for i in range(0, len(edge), HASH_SIZE))
    return TreeState(size=int(size), edge=hashes, root=root)


def check_contiguous(first: int, seqs: Sequence[int]) -> None:
    """Leaves must continue the tree exactly; anything else means a damaged log."""
    for offset, seq in enumerate(seqs):
        if seq != first + offset:
            raise IntegrityError(
                f"cannot integrate: expected seq {first + offset}, found {seq}; "
                "run `trailkeeper verify` on this tenant"
            )
