from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles import examples
from trailkeeper.integrity import (
    NodeID,
    ProofError,
    consistency_plan,
    consistency_proof,
    inclusion_plan,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

from ._trees import build_store, fetch, make_leaf_hashes, vector_leaf_hashes
from ._vectors import CONSISTENCY_PROOFS, INCLUSION_PROOFS


@pytest.mark.parametrize(("index", "size", "want"), INCLUSION_PROOFS)
def test_inclusion_vectors(index: int, size: int, want: list[str]) -> None:
    leaves = vector_leaf_hashes()
    store, _ = build_store(leaves)
    plan = inclusion_plan(index, size)
    assert [h.hex() for h in plan.assemble(fetch(store, plan.node_ids, size))] == want
    assert [h.hex() for h in inclusion_proof(index, leaves[:size])] == want


@pytest.mark.parametrize(("size1", "size2", "want"), CONSISTENCY_PROOFS)
def test_consistency_vectors(size1: int, size2: int, want: list[str]) -> None:
    leaves = vector_leaf_hashes()
    store, _ = build_store(leaves)
    plan = consistency_plan(size1, size2)
    assert [h.hex() for h in plan.assemble(fetch(store, plan.node_ids, size2))] == want
    assert [h.hex() for h in consistency_proof(size1, leaves[:size2])] == want


def test_plan_shape_with_an_ephemeral_node() -> None:
    # Leaf 0 of 7: siblings are leaf 1, node [2,4) and the non-perfect [4,7) = (1,2) + (0,6).
    plan = inclusion_plan(0, 7)
    assert plan.node_ids == [NodeID(0, 1), NodeID(1, 1), NodeID(1, 2), NodeID(0, 6)]
    assert plan.spans == ((0, 1), (1, 2), (2, 4))


def test_plans_read_logarithmically_many_nodes() -> None:
    size = 2**40 + 12345
    assert len(inclusion_plan(size - 1, size).node_ids) <= 2 * 41
    assert len(inclusion_plan(7, size).node_ids) <= 2 * 41
    assert len(consistency_plan(2**39 + 3, size).node_ids) <= 2 * 41


@settings(max_examples=examples(100), deadline=None)
@given(st.data())
def test_every_inclusion_plan_matches_the_reference(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 300), label="tree leaves")
    size = data.draw(st.integers(1, n), label="proof tree size")
    leaves = make_leaf_hashes(n, data.draw(st.binary(max_size=8), label="salt"))
    store, roots = build_store(leaves)
    for index in range(size):
        plan = inclusion_plan(index, size)
        proof = plan.assemble(fetch(store, plan.node_ids, size))
        assert proof == inclusion_proof(index, leaves[:size]), index
        verify_inclusion(leaves[index], index, size, proof, roots[size])


def test_every_consistency_pair_of_a_small_tree() -> None:
    leaves = make_leaf_hashes(100, b"all-pairs")
    store, roots = build_store(leaves)
    for size2 in range(101):
        for size1 in range(size2 + 1):
            plan = consistency_plan(size1, size2)
            proof = plan.assemble(fetch(store, plan.node_ids, size2))
            assert proof == consistency_proof(size1, leaves[:size2]), (size1, size2)
            verify_consistency(size1, size2, proof, roots[size1], roots[size2])


@settings(max_examples=examples(60), deadline=None)
@given(st.data())
def test_sampled_consistency_pairs_of_larger_trees(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 2000), label="tree leaves")
    leaves = make_leaf_hashes(n, data.draw(st.binary(max_size=8), label="salt"))
    store, roots = build_store(leaves)
    for _ in range(10):
        size2 = data.draw(st.integers(0, n), label="size2")
        size1 = data.draw(st.integers(0, size2), label="size1")
        plan = consistency_plan(size1, size2)
        proof = plan.assemble(fetch(store, plan.node_ids, size2))
        verify_consistency(size1, size2, proof, roots[size1], roots[size2])
        if size2 <= 300:
            assert proof == consistency_proof(size1, leaves[:size2])


@pytest.mark.parametrize(
    ("index", "size", "message"),
    [
        (0, 0, "outside the tree of size 0"),
        (5, 5, "outside the tree of size 5"),
        (-1, 5, "outside"),
        (0, -1, "negative"),
    ],
)
def test_inclusion_rejects_bad_arguments(index: int, size: int, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        inclusion_plan(index, size)
    if size >= 0:
        with pytest.raises(ProofError, match=message):
            inclusion_proof(index, [b"\x00" * 32] * size)


@pytest.mark.parametrize(
    ("size1", "size2", "message"),
    [(3, 2, "larger than second"), (-1, 2, "negative"), (0, -1, "negative")],
)
def test_consistency_rejects_bad_arguments(size1: int, size2: int, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        consistency_plan(size1, size2)


@pytest.mark.parametrize(("size1", "size2"), [(0, 0), (0, 9), (9, 9)])
def test_trivial_consistency_plans_are_empty(size1: int, size2: int) -> None:
    plan = consistency_plan(size1, size2)
    assert plan.node_ids == []
    assert plan.assemble([]) == []
    assert consistency_proof(size1, [b"\x00" * 32] * size2) == []


def test_assemble_checks_the_hashes_it_is_given() -> None:
    plan = inclusion_plan(0, 7)
    with pytest.raises(ProofError, match="needs 4 node hashes, got 3"):
        plan.assemble([b"\x00" * 32] * 3)
    with pytest.raises(ProofError, match="has 31 bytes"):
        plan.assemble([b"\x00" * 32] * 3 + [b"\x00" * 31])


@pytest.mark.parametrize("size", [255, 256, 257, 300])
def test_every_inclusion_plan_of_a_few_hundred_leaves(size: int) -> None:
    leaves = make_leaf_hashes(size, b"hundreds")
    store, roots = build_store(leaves)
    for index in range(size):
        plan = inclusion_plan(index, size)
        proof = plan.assemble(fetch(store, plan.node_ids, size))
        assert proof == inclusion_proof(index, leaves), index
        verify_inclusion(leaves[index], index, size, proof, roots[size])
