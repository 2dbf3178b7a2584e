"""Addresses of perfect subtrees, the unit a store persists.

Only perfect subtrees are ever stored: their hashes never change once complete, so they can be
written once and fetched by ``(level, index)``. Hashes of incomplete subtrees on the right edge
are recomputed from perfect ones when a proof or root needs them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NodeID", "range_nodes"]


@dataclass(frozen=True, slots=True, order=True)
class NodeID:
    """Perfect subtree ``(level, index)``: leaves ``[index * 2**level, (index + 1) * 2**level)``.

    Level 0 holds the leaves. Ids are immutable and hashable, so they serve as dict keys, and
    ordered by level then index, so a store can sort a batch of them for one range read.
    """

    level: int
    index: int

    @property
    def begin(self) -> int:
        """First leaf index covered."""
        return self.index << self.level

    @property
    def end(self) -> int:
        """One past the last leaf index covered."""
        return (self.index + 1) << self.level

    def parent(self) -> NodeID:
        """The node one level up that contains this one."""
        return NodeID(self.level + 1, self.index >> 1)

    def sibling(self) -> NodeID:
        """The other child of this node's parent."""
        return NodeID(self.level, self.index ^ 1)


def range_nodes(begin: int, end: int) -> list[NodeID]:
    """Return the minimal list of perfect subtrees covering leaves ``[begin, end)``, left to right.

    This is the compact range of transparency-dev/merkle: sizes first grow (the part left of the
    fork between ``begin - 1`` and ``end``) and then shrink. For ``begin = 0`` it is the right
    edge of the tree of size ``end``: one node per set bit, largest first.
    """
    if begin < 0 or end < begin:
        raise ValueError(f"invalid leaf range [{begin}, {end})")
    if begin == end:
        return []
    if begin == 0:
        left, right = 0, end
    else:
        fork = ((begin - 1) ^ end).bit_length() - 1
        mask = (1 << fork) - 1
        left, right = ~(begin - 1) & mask, end & mask
    nodes: list[NodeID] = []
    pos = begin
    level = 0
    while left:
        if left & 1:
            nodes.append(NodeID(level, pos >> level))
            pos += 1 << level
        left >>= 1
        level += 1
    for level in range(right.bit_length() - 1, -1, -1):
        if right >> level & 1:
            nodes.append(NodeID(level, pos >> level))
            pos += 1 << level
    return nodes
