"""Planning RFC 9162 inclusion and consistency proofs over stored perfect subtrees.

A store keeps only perfect-subtree hashes (see :mod:`.nodes`). Every proof element is the hash
of one subtree of the RFC tree; it is perfect unless it lies on the right edge. A plan lists the
perfect nodes to fetch (O(log n), one batched read) and knows how to fold the right-edge ones
back into the single non-perfect element, in the style of transparency-dev/merkle's
``proof.Nodes``. The reference functions at the bottom follow the RFC's recursive PATH and
SUBPROOF definitions literally and exist to test the planner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import ProofError
from .merkle import HASH_SIZE, hash_children, root_from_leaf_hashes, split_point
from .nodes import NodeID, range_nodes

__all__ = [
    "ProofPlan",
    "consistency_plan",
    "consistency_proof",
    "inclusion_plan",
    "inclusion_proof",
]

_Range = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ProofPlan:
    """The perfect nodes to fetch for one proof, and how to turn their hashes into the proof.

    ``spans[i]`` is the ``[start, stop)`` slice of ``node_ids`` whose hashes fold, right to left,
    into proof element ``i``; a span of length one is a perfect node used as it is.
    """

    node_ids: list[NodeID]
    spans: tuple[_Range, ...] = field(repr=False)

    def assemble(self, hashes: Sequence[bytes]) -> list[bytes]:
        """Build the RFC 9162 proof from the hashes of ``node_ids``, given in the same order."""
        if len(hashes) != len(self.node_ids):
            raise ProofError(f"plan needs {len(self.node_ids)} node hashes, got {len(hashes)}")
        for node, h in zip(self.node_ids, hashes, strict=True):
            if len(h) != HASH_SIZE:
                raise ProofError(f"hash of node {node} has {len(h)} bytes, not {HASH_SIZE}")
        proof: list[bytes] = []
        for start, stop in self.spans:
            acc = hashes[stop - 1]
            for i in range(stop - 2, start - 1, -1):
                acc = hash_children(hashes[i], acc)
            proof.append(acc)
        return proof


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """Plan the inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    _check_index(index, size)
    return _plan(_inclusion_ranges(index, size))


def consistency_plan(size1: int, size2: int) -> ProofPlan:
    """Plan the consistency proof from tree size ``size1`` to ``size2``.

    It is empty when ``size1`` is 0 or equal to ``size2``: those trees are consistent with no proof.
    """
    _check_sizes(size1, size2)
    if size1 in (0, size2):
        return _plan([])
    return _plan(_consistency_ranges(size1, size2))


def _plan(ranges: Sequence[_Range]) -> ProofPlan:
    """Expand each proof element's leaf range into the perfect nodes that cover it."""
    node_ids: list[NodeID] = []
    spans: list[_Range] = []
    for begin, end in ranges:
        start = len(node_ids)
        node_ids.extend(range_nodes(begin, end))
        spans.append((start, len(node_ids)))
    return ProofPlan(node_ids, tuple(spans))


def _inclusion_ranges(index: int, size: int) -> list[_Range]:
    """Leaf ranges of PATH(index, D[size]) from the leaf's sibling up to the root's child."""
    ranges: list[_Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + split_point(hi - lo)
        if index < mid:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            lo = mid
    ranges.reverse()
    return ranges


def _consistency_ranges(size1: int, size2: int) -> list[_Range]:
    """Leaf ranges of PROOF(size1, D[size2]) = SUBPROOF(size1, D[size2], true), in proof order."""
    ranges: list[_Range] = []
    lo, hi, complete = 0, size2, True
    m = size1
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Reference PATH(index, D[n]) computed from all leaf hashes (RFC 9162 §2.1.3.1)."""
    _check_index(index, len(leaf_hashes))
    return _path(index, leaf_hashes)


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return [*_path(m, d[:k]), root_from_leaf_hashes(d[k:])]
    return [*_path(m - k, d[k:]), root_from_leaf_hashes(d[:k])]


def consistency_proof(size1: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Reference PROOF(size1, D[n]) computed from all leaf hashes (RFC 9162 §2.1.4.1)."""
    _check_sizes(size1, len(leaf_hashes))
    if size1 in (0, len(leaf_hashes)):
        return []
    return _subproof(size1, leaf_hashes, complete=True)


def _subproof(m: int, d: Sequence[bytes], *, complete: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if complete else [root_from_leaf_hashes(d)]
    k = split_point(n)
    if m <= k:
        return [*_subproof(m, d[:k], complete=complete), root_from_leaf_hashes(d[k:])]
    return [*_subproof(m - k, d[k:], complete=False), root_from_leaf_hashes(d[:k])]


def _check_index(index: int, size: int) -> None:
    if size < 0:
        raise ProofError(f"tree size must not be negative, got {size}")
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside the tree of size {size}")


def _check_sizes(size1: int, size2: int) -> None:
    if size1 < 0 or size2 < 0:
        raise ProofError(f"tree sizes must not be negative, got {size1} and {size2}")
    if size1 > size2:
        raise ProofError(f"first tree size {size1} is larger than second tree size {size2}")
