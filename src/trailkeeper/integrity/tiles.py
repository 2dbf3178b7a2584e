"""Tiles: how stored tree nodes are grouped (after C2SP tlog-tiles and Tessera).

A tile at tile level ``L`` holds up to 16 consecutive node hashes of tree level
``4·L``; the 3 tree levels above them are recomputed from the tile when needed
(at most 15 hashes per node). C2SP tlog-tiles uses 256-wide tiles, which are
better for serving static files; we serve proofs, and 16-wide tiles make each
one about three times cheaper to compute, for ~67,000 rows per million leaves.
Pure: stores read and write the blobs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import IntegrityError
from .merkle import HASH_SIZE, hash_children
from .nodes import NodeID

__all__ = [
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileKey",
    "extend_tile",
    "node_from_tiles",
    "tile_entries",
    "tile_key",
]

TILE_HEIGHT = 4
TILE_WIDTH = 1 << TILE_HEIGHT
TileKey = tuple[int, int]
"""(tile level, tile index)"""


def tile_entries(
    completed: Iterable[tuple[int, int, bytes]],
) -> dict[TileKey, list[tuple[int, bytes]]]:
    """Group newly completed ``(level, index, hash)`` nodes into ``(offset, hash)``
    additions per tile. Only nodes on levels that are multiples of ``TILE_HEIGHT``
    are stored (``CompactRange.extend_levels(leaves, TILE_HEIGHT)`` yields just those)."""
    additions: dict[TileKey, list[tuple[int, bytes]]] = {}
    mask = TILE_WIDTH - 1
    for level, index, digest in completed:
        if level % TILE_HEIGHT:
            continue
        key = (level // TILE_HEIGHT, index >> TILE_HEIGHT)
        entries = additions.get(key)
        if entries is None:
            entries = additions[key] = []
        entries.append((index & mask, digest))
    return additions


def extend_tile(blob: bytes, entries: Iterable[tuple[int, bytes]]) -> bytes:
    """Append entries to a (partial) tile; they must continue it without gaps."""
    width = len(blob) // HASH_SIZE
    parts = [blob]
    for offset, digest in sorted(entries):
        if offset != width:
            raise IntegrityError(f"tile entry at offset {offset} does not follow {width} stored")
        parts.append(digest)
        width += 1
    return b"".join(parts)


def tile_key(node: NodeID) -> TileKey:
    """The tile holding the entries from which ``node`` is computed."""
    shift = node.level % TILE_HEIGHT
    return (node.level // TILE_HEIGHT, (node.index << shift) >> TILE_HEIGHT)


def node_from_tiles(node: NodeID, tiles: Mapping[TileKey, bytes]) -> bytes:
    """Hash of a perfect node, folded up from its tile's stored entries."""
    shift = node.level % TILE_HEIGHT
    blob = tiles.get(tile_key(node), b"")
    first = (node.index << shift) & (TILE_WIDTH - 1)
    count = 1 << shift
    if len(blob) < (first + count) * HASH_SIZE:
        raise IntegrityError(f"node {node} is not stored yet (tile {tile_key(node)} too short)")
    layer = [blob[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(first, first + count)]
    while len(layer) > 1:
        layer = [hash_children(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]
