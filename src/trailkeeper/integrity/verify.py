"""Verifying RFC 9162 inclusion and consistency proofs.

The loops follow RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, including the inner right-shift
that some third-party code leaves out; a verifier is only as good as its faithfulness to the RFC.
Every failure raises :class:`ProofError` with the reason, so callers can report *why*.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ProofError
from .merkle import EMPTY_ROOT, HASH_SIZE, hash_children

__all__ = ["root_from_inclusion_proof", "verify_consistency", "verify_inclusion"]


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``."""
    _check_hash("root hash", root)
    if root_from_inclusion_proof(leaf_hash, index, size, proof) != root:
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the tree {size} root")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Compute the root that ``proof`` implies for leaf ``index`` in a tree of ``size`` leaves."""
    if size < 0 or index < 0:
        raise ProofError(f"leaf index and tree size must not be negative, got {index} and {size}")
    if index >= size:
        raise ProofError(f"leaf index {index} is outside the tree of size {size}")
    _check_hash("leaf hash", leaf_hash)
    _check_proof(proof)
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof has too many hashes ({len(proof)})")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof has too few hashes ({len(proof)})")
    return r


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` with ``root1`` is a prefix of the one of ``size2``.

    Stricter than the RFC at the edges: a tree of size 0 must have the empty-tree root, and
    trivial cases (equal sizes, empty first tree) must come with an empty proof.
    """
    if size1 < 0 or size2 < 0:
        raise ProofError(f"tree sizes must not be negative, got {size1} and {size2}")
    if size1 > size2:
        raise ProofError(f"first tree size {size1} is larger than second tree size {size2}")
    _check_hash("first root hash", root1)
    _check_hash("second root hash", root2)
    _check_proof(proof)
    if size1 == size2 or size1 == 0:
        _verify_trivial(size1, size2, proof, root1, root2)
        return
    if not proof:
        raise ProofError(f"consistency proof from {size1} to {size2} must not be empty")
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof has too many hashes ({len(proof)})")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof has too few hashes ({len(proof)})")
    if fr != root1:
        raise ProofError(f"consistency proof does not lead to the tree {size1} root")
    if sr != root2:
        raise ProofError(f"consistency proof does not lead to the tree {size2} root")


def _verify_trivial(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Equal sizes, or an empty first tree: consistent with no proof at all."""
    if proof:
        raise ProofError(f"consistency proof from {size1} to {size2} must be empty")
    if size1 == 0 and root1 != EMPTY_ROOT:
        raise ProofError("the root of the empty tree must be SHA-256 of the empty string")
    if size1 == size2 and root1 != root2:
        raise ProofError(f"trees of equal size {size1} have different roots")


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} has {len(value)} bytes, not {HASH_SIZE}")


def _check_proof(proof: Sequence[bytes]) -> None:
    for i, p in enumerate(proof):
        if len(p) != HASH_SIZE:
            raise ProofError(f"proof hash {i} has {len(p)} bytes, not {HASH_SIZE}")
