"""Perfect subtrees (verify's chunks): every level, and the nodes covering a prefix, agree
with the tree computed straight from RFC 9162's definition."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles import examples
from trailkeeper.integrity import CompactRange, ProofError, root_from_leaf_hashes
from trailkeeper.integrity.subtrees import cover, perfect_layers

from ._trees import make_leaf_hashes


@pytest.mark.parametrize("height", range(6))
def test_every_level_holds_the_roots_of_its_subtrees(height: int) -> None:
    leaves = make_leaf_hashes(1 << height)
    layers = perfect_layers(leaves)
    assert len(layers) == height + 1
    for level, layer in enumerate(layers):
        width = 1 << level
        assert layer == [
            root_from_leaf_hashes(leaves[i : i + width]) for i in range(0, len(leaves), width)
        ]


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(0, 5), st.integers(0, 3), st.data())
def test_cover_continues_the_edge_of_the_tree_to_its_left(
    height: int, chunks_before: int, data: st.DataObject
) -> None:
    """A chunk at any aligned place: the edge left of it plus the cover of its first
    ``count`` leaves is the edge of the tree that ends there."""
    size = 1 << height
    first = chunks_before * size
    leaves = make_leaf_hashes(first + size)
    count = data.draw(st.integers(0, size - 1))
    left = CompactRange()
    left.extend(leaves[:first])
    nodes = cover(perfect_layers(leaves[first:]), count)
    edge = CompactRange(first + count, [*left.hashes, *nodes])
    assert edge.root() == root_from_leaf_hashes(leaves[: first + count])


def test_refuses_what_is_not_a_perfect_subtree() -> None:
    with pytest.raises(ProofError):
        perfect_layers(make_leaf_hashes(3))
    with pytest.raises(ProofError):
        perfect_layers([])
    with pytest.raises(ProofError):
        cover(perfect_layers(make_leaf_hashes(4)), 4)
