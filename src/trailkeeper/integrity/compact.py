"""The right edge of an append-only Merkle tree, for integrating new leaves.

Appending needs only the hashes of the perfect subtrees along the right edge (one per set bit
of the size), so the integrator keeps O(log n) state, and every node that becomes complete is
handed back exactly once for the store to persist.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .errors import ProofError
from .merkle import EMPTY_ROOT, HASH_SIZE, hash_children
from .nodes import NodeID, range_nodes

__all__ = ["CompactRange", "fold_edge"]


class CompactRange:
    """The perfect subtrees covering leaves ``[0, size)``, largest (leftmost) first.

    Start empty, or restore from a persisted ``size`` and ``hashes`` (as given by :attr:`hashes`).
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0:
            raise ProofError(f"tree size must not be negative, got {size}")
        if len(hashes) != size.bit_count():
            raise ProofError(
                f"a tree of size {size} has {size.bit_count()} edge hashes, got {len(hashes)}"
            )
        for i, h in enumerate(hashes):
            if len(h) != HASH_SIZE:
                raise ProofError(f"edge hash {i} has {len(h)} bytes, not {HASH_SIZE}")
        self._size = size
        self._hashes = [bytes(h) for h in hashes]

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> list[bytes]:
        """Edge hashes, largest subtree first; persist these with :attr:`size` to restore."""
        return list(self._hashes)

    def nodes(self) -> list[NodeID]:
        """Ids of the edge's perfect subtrees, in the order of :attr:`hashes`."""
        return range_nodes(0, self._size)

    def append(self, leaf_hash: bytes) -> list[tuple[NodeID, bytes]]:
        """Add one leaf; return every perfect node completed by it, the leaf first.

        The loop merges the new node with its left sibling once per trailing one bit of the old
        size, so it runs in O(log n) time and amortised O(1).
        """
        if len(leaf_hash) != HASH_SIZE:
            raise ProofError(f"leaf hash has {len(leaf_hash)} bytes, not {HASH_SIZE}")
        index = self._size
        stack = self._hashes
        completed = [(NodeID(0, index), leaf_hash)]
        h = leaf_hash
        level = 0
        while index & 1:
            h = hash_children(stack.pop(), h)
            index >>= 1
            level += 1
            completed.append((NodeID(level, index), h))
        stack.append(h)
        self._size += 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[tuple[NodeID, bytes]]:
        """Append many leaves; return all the nodes they complete, in completion order.

        Same as calling :meth:`append` in a loop, inlined because bulk integration is hot.
        """
        stack = self._hashes
        completed: list[tuple[NodeID, bytes]] = []
        add = completed.append
        pop = stack.pop
        push = stack.append
        index = self._size
        try:
            for leaf_hash in leaf_hashes:
                if len(leaf_hash) != HASH_SIZE:
                    raise ProofError(f"leaf hash has {len(leaf_hash)} bytes, not {HASH_SIZE}")
                add((NodeID(0, index), leaf_hash))
                h = leaf_hash
                i = index
                level = 0
                while i & 1:
                    h = hash_children(pop(), h)
                    i >>= 1
                    level += 1
                    add((NodeID(level, i), h))
                push(h)
                index += 1
        finally:
            self._size = index
        return completed

    def extend_levels(
        self, leaf_hashes: Iterable[bytes], step: int
    ) -> list[tuple[int, int, bytes]]:
        """Like :meth:`extend`, but return only the completed nodes on levels that are
        multiples of ``step``, as plain ``(level, index, hash)`` tuples: what a tiled
        store persists, without building an object per node."""
        stack = self._hashes
        kept: list[tuple[int, int, bytes]] = []
        keep = kept.append
        pop = stack.pop
        push = stack.append
        index = self._size
        try:
            for leaf_hash in leaf_hashes:
                if len(leaf_hash) != HASH_SIZE:
                    raise ProofError(f"leaf hash has {len(leaf_hash)} bytes, not {HASH_SIZE}")
                keep((0, index, leaf_hash))
                h = leaf_hash
                i = index
                level = 0
                while i & 1:
                    h = hash_children(pop(), h)
                    i >>= 1
                    level += 1
                    if level % step == 0:
                        keep((level, i, h))
                push(h)
                index += 1
        finally:
            self._size = index
        return kept

    def append_subtree(self, root: bytes, height: int, step: int) -> list[tuple[int, int, bytes]]:
        """Add the 2**height leaves of a perfect subtree at once, by its ``root`` (the size
        must be a multiple of 2**height); return the nodes it completes above it on levels
        that are multiples of ``step``, as :meth:`extend_levels` does."""
        if height < 0 or self._size & ((1 << height) - 1) or len(root) != HASH_SIZE:
            raise ProofError(f"a subtree of height {height} cannot follow {self._size} leaves")
        stack = self._hashes
        kept: list[tuple[int, int, bytes]] = []
        h, index, level = root, self._size >> height, height
        while index & 1:
            h = hash_children(stack.pop(), h)
            index >>= 1
            level += 1
            if level % step == 0:
                kept.append((level, index, h))
        stack.append(h)
        self._size += 1 << height
        return kept

    def root(self) -> bytes:
        """The tree's root hash: fold the edge from the right (MTH of the whole range)."""
        return fold_edge(self._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


def fold_edge(hashes: Sequence[bytes]) -> bytes:
    """The root of the tree whose edge (its perfect subtrees, largest first) is ``hashes``."""
    if not hashes:
        return EMPTY_ROOT
    h = hashes[-1]
    for i in range(len(hashes) - 2, -1, -1):
        h = hash_children(hashes[i], h)
    return h
