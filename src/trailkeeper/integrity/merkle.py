"""RFC 9162 §2.1 Merkle tree hashing with SHA-256.

The 0x00 / 0x01 prefixes separate leaves from interior nodes, so no leaf can be passed off as an
interior node (second-preimage attack).
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

__all__ = ["EMPTY_ROOT", "HASH_SIZE", "hash_children", "hash_leaf", "root_from_leaf_hashes"]

HASH_SIZE = 32
"""Length in bytes of every hash in the tree."""

EMPTY_ROOT = sha256(b"").digest()
"""MTH({}): the root of the empty tree."""


def hash_leaf(data: bytes) -> bytes:
    """Hash leaf bytes: SHA-256(0x00 || data)."""
    return sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """Hash an interior node: SHA-256(0x01 || left || right)."""
    return sha256(b"\x01" + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Compute MTH straight from the RFC's recursive definition.

    This is the reference the faster code is tested against; it takes O(n) time and is meant
    for tests and small trees.
    """
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = split_point(n)
    return hash_children(root_from_leaf_hashes(hashes[:k]), root_from_leaf_hashes(hashes[k:]))


def split_point(n: int) -> int:
    """Return the largest power of two strictly less than ``n`` (``n`` >= 2): the RFC's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)
