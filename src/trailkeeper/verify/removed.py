"""``verify`` on a log that retention shortened: the events below ``removed`` were
archived and deleted, but the Merkle tree keeps their leaf hashes in its level-0 tiles.
Those leaves are fed to the checker first, so the signed checkpoints are still checked
from seq 0 (a tile changed to hide a removed event would not reproduce them), and the
rows are read from ``removed`` on."""

from __future__ import annotations

from typing import Protocol

from trailkeeper.integrity import HASH_SIZE
from trailkeeper.integrity.tiles import TILE_WIDTH
from trailkeeper.storage.rows import RowReader

__all__ = ["feed_removed"]

_TILES = 4_096  # tiles read at a time: 65,536 leaves, 2 MiB


class Feeder(Protocol):
    def feed_leaves(self, first: int, hashes: bytes) -> bool: ...


def feed_removed(reader: RowReader, tenant_id: int, checker: Feeder, removed: int) -> int:
    """Feed the leaves of seqs ``0 .. removed - 1`` from the stored tiles; how many were
    fed (fewer when a tile is not there: the rows from there on are then checked, and
    those retention removed are reported missing)."""
    tiles_needed = -(-removed // TILE_WIDTH)
    for first in range(0, tiles_needed, _TILES):
        end = min(first + _TILES, tiles_needed)
        found = reader.tiles(tenant_id, 0, first, end)
        if any(index not in found for index in range(first, end)):
            return first * TILE_WIDTH
        hashes = b"".join(found[index] for index in range(first, end))
        leaves = min(removed - first * TILE_WIDTH, (end - first) * TILE_WIDTH)
        if len(hashes) < leaves * HASH_SIZE:
            return first * TILE_WIDTH
        if not checker.feed_leaves(first * TILE_WIDTH, hashes[: leaves * HASH_SIZE]):
            return first * TILE_WIDTH
    return removed
