"""Perfect subtrees: every level of the Merkle tree over 2**h consecutive leaf hashes.

``verify`` checks the log in aligned chunks of 2**h leaves, each in its own process: a
chunk's levels are compared with the stored tiles, its root is folded into the whole
tree by the coordinating process, and where a signed checkpoint ends inside the chunk the
chunk's part of that tree's edge comes from :func:`cover`. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ProofError
from .merkle import hash_children

__all__ = ["cover", "perfect_layers"]


def perfect_layers(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """``layers[k][i]``: the hash of the ``i``-th perfect subtree of 2**k leaves, from the
    leaves themselves (``layers[0]``) up to the root (``layers[-1][0]``)."""
    count = len(leaves)
    if count == 0 or count & (count - 1):
        raise ProofError(f"a perfect subtree has a power-of-two number of leaves, not {count}")
    layers = [list(leaves)]
    layer = layers[0]
    while len(layer) > 1:
        layer = list(map(hash_children, layer[0::2], layer[1::2]))
        layers.append(layer)
    return layers


def cover(layers: Sequence[Sequence[bytes]], count: int) -> list[bytes]:
    """The perfect subtrees covering the first ``count`` leaves of the subtree, largest
    first: appended to the edge of the tree left of the subtree, they are the edge of the
    tree that ends ``count`` leaves into it."""
    if not 0 <= count < len(layers[0]):
        raise ProofError(f"{count} leaves do not end inside a subtree of {len(layers[0])}")
    nodes = []
    done = 0
    for level in range(len(layers) - 1, -1, -1):
        if count >> level & 1:
            nodes.append(layers[level][done >> level])
            done += 1 << level
    return nodes
