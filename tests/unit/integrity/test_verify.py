from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles import examples
from trailkeeper.integrity import (
    EMPTY_ROOT,
    NodeID,
    ProofError,
    consistency_plan,
    hash_leaf,
    inclusion_plan,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

from ._trees import build_store, fetch, make_leaf_hashes, vector_leaf_hashes, vector_roots
from ._vectors import CONSISTENCY_PROOFS, INCLUSION_PROOFS

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")

Probe = tuple[str, Callable[[], None]]


def _flip(proof: Sequence[bytes], i: int, bit: int) -> list[bytes]:
    out = list(proof)
    out[i] = bytes([out[i][0] ^ bit]) + out[i][1:]
    return out


def inclusion_probes(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> list[Probe]:
    """Corruptions of a good inclusion proof, after transparency-dev's corruptInclusionProof."""

    def case(
        desc: str,
        *,
        leaf_: bytes = leaf,
        index_: int = index,
        size_: int = size,
        proof_: Sequence[bytes] = proof,
        root_: bytes = root,
    ) -> Probe:
        return desc, partial(verify_inclusion, leaf_, index_, size_, proof_, root_)

    probes = [
        case("index - 1", index_=index - 1),
        case("index + 1", index_=index + 1),
        case("index ^ 2", index_=index ^ 2),
        case("size * 2", size_=size * 2),
        case("size // 2", size_=size // 2),
        case("wrong leaf", leaf_=hash_leaf(b"WrongLeaf")),
        case("empty root", root_=EMPTY_ROOT),
        case("random root", root_=SOME_HASH),
        case("trailing garbage", proof_=[*proof, b""]),
        case("trailing root", proof_=[*proof, root]),
        case("preceding garbage", proof_=[b"", *proof]),
        case("preceding root", proof_=[root, *proof]),
    ]
    probes += [case(f"flipped proof[{i}]", proof_=_flip(proof, i, 8)) for i in range(len(proof))]
    if proof:
        probes.append(case("removed component", proof_=proof[:-1]))
    if len(proof) > 1:
        probes.append(case("inserted component", proof_=[proof[0], SOME_HASH, *proof[1:]]))
    return probes


def consistency_probes(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> list[Probe]:
    """Corruptions of a good consistency proof, after corruptConsistencyProof."""

    def case(
        desc: str,
        *,
        size1_: int = size1,
        size2_: int = size2,
        proof_: Sequence[bytes] = proof,
        root1_: bytes = root1,
        root2_: bytes = root2,
    ) -> Probe:
        return desc, partial(verify_consistency, size1_, size2_, proof_, root1_, root2_)

    wrong = hash_leaf(b"WrongRoot")
    probes = [
        case("size1 - 1", size1_=size1 - 1),
        case("size1 + 1", size1_=size1 + 1),
        case("size1 ^ 2", size1_=size1 ^ 2),
        case("size2 * 2", size2_=size2 * 2),
        case("size2 // 2", size2_=size2 // 2),
        case("wrong root1", root1_=wrong),
        case("wrong root2", root2_=wrong),
        case("swapped roots", root1_=root2, root2_=root1),
        case("empty proof", proof_=[]),
        case("trailing garbage", proof_=[*proof, b""]),
        case("trailing root1", proof_=[*proof, root1]),
        case("trailing root2", proof_=[*proof, root2]),
        case("preceding garbage", proof_=[b"", *proof]),
        case("preceding root1", proof_=[root1, *proof]),
        case("preceding root2", proof_=[root2, *proof]),
        case("preceding proof[0]", proof_=[proof[0], *proof]),
        case("truncated proof", proof_=proof[:-1]),
    ]
    probes += [case(f"flipped proof[{i}]", proof_=_flip(proof, i, 16)) for i in range(len(proof))]
    return probes


def assert_all_fail(probes: list[Probe]) -> None:
    accepted = []
    for desc, probe in probes:
        try:
            probe()
        except ProofError:
            continue
        accepted.append(desc)
    assert not accepted, f"corrupted proofs verified: {accepted}"


@pytest.mark.parametrize(("index", "size", "proof_hex"), INCLUSION_PROOFS)
def test_inclusion_vectors_verify_and_corruptions_fail(
    index: int, size: int, proof_hex: list[str]
) -> None:
    leaf = vector_leaf_hashes()[index]
    root = vector_roots()[size]
    proof = [bytes.fromhex(h) for h in proof_hex]
    assert root_from_inclusion_proof(leaf, index, size, proof) == root
    verify_inclusion(leaf, index, size, proof, root)
    assert_all_fail(inclusion_probes(leaf, index, size, proof, root))


@pytest.mark.parametrize(("size1", "size2", "proof_hex"), CONSISTENCY_PROOFS)
def test_consistency_vectors_verify_and_corruptions_fail(
    size1: int, size2: int, proof_hex: list[str]
) -> None:
    roots = vector_roots()
    proof = [bytes.fromhex(h) for h in proof_hex]
    verify_consistency(size1, size2, proof, roots[size1], roots[size2])
    if proof:
        assert_all_fail(consistency_probes(size1, size2, proof, roots[size1], roots[size2]))


def test_single_leaf_tree() -> None:
    leaf = hash_leaf(b"data")
    verify_inclusion(leaf, 0, 1, [], leaf)
    with pytest.raises(ProofError, match="root hash has 0 bytes"):
        verify_inclusion(leaf, 0, 1, [], b"")
    with pytest.raises(ProofError, match="leaf hash has 0 bytes"):
        verify_inclusion(b"", 0, 1, [], leaf)
    with pytest.raises(ProofError, match="does not lead"):
        verify_inclusion(leaf, 0, 1, [], SOME_HASH)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (-1, 1), (0, -1)])
def test_inclusion_outside_the_tree_fails(index: int, size: int) -> None:
    with pytest.raises(ProofError, match=r"outside|negative"):
        verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)


def test_inclusion_proof_length_errors_say_so() -> None:
    leaves = vector_leaf_hashes()
    root = vector_roots()[8]
    with pytest.raises(ProofError, match="too many hashes"):
        verify_inclusion(leaves[0], 0, 2, [leaves[1], root], root)
    with pytest.raises(ProofError, match="too few hashes"):
        verify_inclusion(leaves[0], 0, 8, [leaves[1]], root)


def test_trivial_consistency_cases() -> None:
    root = vector_roots()[3]
    other = vector_roots()[4]
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(0, 3, [], EMPTY_ROOT, root)
    verify_consistency(3, 3, [], root, root)
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(3, 3, [], root, other)
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(3, 3, [EMPTY_ROOT], root, root)
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(0, 3, [EMPTY_ROOT], EMPTY_ROOT, root)
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 3, [], root, root)
    with pytest.raises(ProofError, match="larger than second"):
        verify_consistency(2, 1, [], root, root)
    with pytest.raises(ProofError, match="must not be empty"):
        verify_consistency(1, 2, [], vector_roots()[1], vector_roots()[2])
    with pytest.raises(ProofError, match="negative"):
        verify_consistency(-1, 2, [], root, root)
    with pytest.raises(ProofError, match="first root hash has 3 bytes"):
        verify_consistency(1, 2, [root], b"abc", root)


def _tree(n: int, salt: bytes) -> tuple[list[bytes], dict[NodeID, bytes], list[bytes]]:
    leaves = make_leaf_hashes(n, salt)
    store, roots = build_store(leaves)
    return leaves, store, roots


@settings(max_examples=examples(100), deadline=None)
@given(st.integers(1, 400), st.data())
def test_tampered_inclusion_proofs_fail(n: int, data: st.DataObject) -> None:
    leaves, store, roots = _tree(n, b"tamper")
    size = data.draw(st.integers(1, n), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    plan = inclusion_plan(index, size)
    proof = plan.assemble(fetch(store, plan.node_ids, size))
    verify_inclusion(leaves[index], index, size, proof, roots[size])
    assert_all_fail(inclusion_probes(leaves[index], index, size, proof, roots[size]))


@settings(max_examples=examples(100), deadline=None)
@given(st.integers(2, 400), st.data())
def test_tampered_consistency_proofs_fail(n: int, data: st.DataObject) -> None:
    _, store, roots = _tree(n, b"tamper")
    size2 = data.draw(st.integers(2, n), label="size2")
    size1 = data.draw(st.integers(1, size2 - 1), label="size1")
    plan = consistency_plan(size1, size2)
    proof = plan.assemble(fetch(store, plan.node_ids, size2))
    verify_consistency(size1, size2, proof, roots[size1], roots[size2])
    assert_all_fail(consistency_probes(size1, size2, proof, roots[size1], roots[size2]))
