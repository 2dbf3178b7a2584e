from __future__ import annotations

import hashlib

from trailkeeper.integrity import EMPTY_ROOT, hash_children, hash_leaf, root_from_leaf_hashes

from ._trees import LEAF_INPUTS, NODE_HASHES, vector_leaf_hashes, vector_roots


def test_empty_root_is_sha256_of_nothing() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert root_from_leaf_hashes([]) == EMPTY_ROOT


def test_domain_separation_prefixes() -> None:
    assert hash_leaf(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = b"L" * 32, b"R" * 32
    assert hash_children(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert hash_leaf(left + right) != hash_children(left, right)


def test_leaf_hashes_match_vectors() -> None:
    assert [h.hex() for h in vector_leaf_hashes()] == NODE_HASHES[0]


def test_reference_root_matches_vectors_for_every_size() -> None:
    leaves = vector_leaf_hashes()
    for size, want in enumerate(vector_roots()):
        assert root_from_leaf_hashes(leaves[:size]) == want, size


def test_perfect_subtree_vectors() -> None:
    leaves = vector_leaf_hashes()
    for level, row in enumerate(NODE_HASHES):
        for index, want in enumerate(row):
            span = leaves[index << level : (index + 1) << level]
            assert root_from_leaf_hashes(span).hex() == want, (level, index)
    assert len(LEAF_INPUTS) == 8
