from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles import examples
from trailkeeper.integrity import (
    EMPTY_ROOT,
    CompactRange,
    NodeID,
    ProofError,
    range_nodes,
    root_from_leaf_hashes,
)

from ._trees import NODE_HASHES, build_store, make_leaf_hashes, vector_leaf_hashes, vector_roots

# transparency-dev/merkle testonly.CompactTrees: edge hashes for sizes 0..8, as (level, index).
COMPACT_TREES = [
    [],
    [(0, 0)],
    [(1, 0)],
    [(1, 0), (0, 2)],
    [(2, 0)],
    [(2, 0), (0, 4)],
    [(2, 0), (1, 2)],
    [(2, 0), (1, 2), (0, 6)],
    [(3, 0)],
]


def test_empty_range() -> None:
    tree = CompactRange()
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT
    assert tree.hashes == []
    assert tree.nodes() == []


def test_vectors_roots_edges_and_completed_nodes() -> None:
    tree = CompactRange()
    completed: dict[NodeID, bytes] = {}
    assert tree.root() == vector_roots()[0]
    for size, leaf in enumerate(vector_leaf_hashes(), start=1):
        out = tree.append(leaf)
        assert out[0] == (NodeID(0, size - 1), leaf)
        completed.update(out)
        assert tree.root() == vector_roots()[size]
        want_edge = COMPACT_TREES[size]
        assert tree.nodes() == [NodeID(level, index) for level, index in want_edge]
        assert [h.hex() for h in tree.hashes] == [NODE_HASHES[lv][ix] for lv, ix in want_edge]
    assert {(n.level, n.index): h.hex() for n, h in completed.items()} == {
        (level, index): h for level, row in enumerate(NODE_HASHES) for index, h in enumerate(row)
    }


def test_root_matches_reference_for_every_size() -> None:
    leaves = make_leaf_hashes(300, b"every-size")
    _, roots = build_store(leaves)
    for size, root in enumerate(roots):
        assert root == root_from_leaf_hashes(leaves[:size]), size


@settings(max_examples=examples(30), deadline=None)
@given(st.integers(1, 700), st.binary(max_size=8))
def test_completed_nodes_are_exactly_the_perfect_subtrees(n: int, salt: bytes) -> None:
    leaves = make_leaf_hashes(n, salt)
    store, _ = build_store(leaves)
    expected = {
        NodeID(level, index) for level in range(n.bit_length()) for index in range(n >> level)
    }
    assert set(store) == expected
    for node in (NodeID(0, 0), NodeID(0, n - 1), *range_nodes(0, n)):
        assert store[node] == root_from_leaf_hashes(leaves[node.begin : node.end])


@settings(max_examples=examples(30), deadline=None)
@given(st.integers(0, 300), st.integers(0, 300), st.binary(max_size=8))
def test_restore_continues_identically(k: int, extra: int, salt: bytes) -> None:
    leaves = make_leaf_hashes(k + extra, salt)
    original = CompactRange()
    original.extend(leaves[:k])
    restored = CompactRange(original.size, original.hashes)
    assert restored.root() == original.root()
    assert restored.nodes() == original.nodes()
    for leaf in leaves[k:]:
        assert restored.append(leaf) == original.append(leaf)
        assert restored.root() == original.root()
    assert restored.size == k + extra


def test_extend_equals_repeated_append() -> None:
    leaves = make_leaf_hashes(100, b"extend")
    one, many = CompactRange(), CompactRange()
    appended = [pair for leaf in leaves for pair in one.append(leaf)]
    assert many.extend(leaves) == appended
    assert many.root() == one.root()
    assert many.size == one.size == 100


def test_hashes_are_a_copy() -> None:
    tree = CompactRange()
    tree.append(b"\x00" * 32)
    tree.hashes.clear()
    assert tree.size == 1
    assert len(tree.hashes) == 1


def test_rejects_bad_restore_and_leaves() -> None:
    with pytest.raises(ProofError, match="negative"):
        CompactRange(-1)
    with pytest.raises(ProofError, match="has 2 edge hashes, got 1"):
        CompactRange(3, [b"\x00" * 32])
    with pytest.raises(ProofError, match="edge hash 0 has 31 bytes"):
        CompactRange(1, [b"\x00" * 31])
    tree = CompactRange()
    with pytest.raises(ProofError, match="leaf hash has 3 bytes"):
        tree.append(b"abc")
    with pytest.raises(ProofError, match="leaf hash has 0 bytes"):
        tree.extend([b"\x00" * 32, b""])
    assert tree.size == 1
