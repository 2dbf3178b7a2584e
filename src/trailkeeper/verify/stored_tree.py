"""The Merkle tree as the store keeps it: leaves and nodes read from the tiles, a window
of level-0 tiles at a time and the latest tile of each higher level, each tile that is
missing or short reported once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from trailkeeper.integrity import HASH_SIZE
from trailkeeper.integrity.tiles import TILE_HEIGHT, TILE_WIDTH, TileKey
from trailkeeper.verify.report import Findings, Problem

__all__ = ["TILE_BATCH", "StoredTree", "TileReader"]

TileReader = Callable[[Iterable[TileKey]], Mapping[TileKey, bytes]]

TILE_BATCH = 256
"""Level-0 tiles (TILE_WIDTH leaf hashes each) read at a time."""


class StoredTree:
    """Reads what the tiles recorded for each position of a tree of ``integrated`` leaves."""

    def __init__(self, read_tiles: TileReader, integrated: int, findings: Findings) -> None:
        self.read_tiles = read_tiles
        self.integrated = integrated
        self._findings = findings
        self._tile_first = 0
        self._tile_blobs: list[bytes] = []
        self._reported: dict[int, int] = {}
        """Per tile level, the last tile reported missing (each is reported once)."""
        self._upper: dict[int, tuple[int, bytes]] = {}

    def leaf(self, position: int) -> bytes | None:
        """The leaf hash the tiles recorded for ``position`` (None: not stored)."""
        if position >= self.integrated:
            return None
        tile = position >> TILE_HEIGHT
        offset = tile - self._tile_first
        if not 0 <= offset < len(self._tile_blobs):
            offset = tile % TILE_BATCH  # windows at fixed places, whatever was read before
            self._load(tile - offset)
        blob = self._tile_blobs[offset]
        at = (position & (TILE_WIDTH - 1)) * HASH_SIZE
        found = blob[at : at + HASH_SIZE]
        if len(found) == HASH_SIZE:
            return found
        self.missing_tile(
            0,
            tile,
            Problem(
                position,
                "tree",
                f"the stored Merkle tree lacks the leaf of seq {position} (tile 0/{tile} "
                "is missing or short): proofs over it cannot be served",
            ),
        )
        return None

    def _load(self, first: int) -> None:
        last = min(first + TILE_BATCH, (self.integrated + TILE_WIDTH - 1) >> TILE_HEIGHT)
        keys = [(0, index) for index in range(first, max(last, first + 1))]
        read = self.read_tiles(keys)
        self._tile_first = first
        self._tile_blobs = [read.get(key, b"") for key in keys]

    def node(self, level: int, index: int) -> bytes | None:
        """The stored node ``index`` of ``level`` (a multiple of TILE_HEIGHT), if stored."""
        tile_level = level // TILE_HEIGHT
        tile = index >> TILE_HEIGHT
        cached = self._upper.get(tile_level)
        if cached is None or cached[0] != tile:
            key = (tile_level, tile)
            cached = (tile, self.read_tiles([key]).get(key, b""))
            self._upper[tile_level] = cached
        at = (index & (TILE_WIDTH - 1)) * HASH_SIZE
        found = cached[1][at : at + HASH_SIZE]
        return found if len(found) == HASH_SIZE else None

    def missing_tile(self, tile_level: int, tile: int, problem: Problem) -> None:
        """Report ``problem`` unless this tile was the last one reported on its level."""
        if self._reported.get(tile_level) != tile:
            self._reported[tile_level] = tile
            self._findings.add(problem)

    def find(self, digest: bytes) -> int | None:
        """The position of ``digest`` among the leaves of the tiles read last, if there."""
        for offset, blob in enumerate(self._tile_blobs):
            at = blob.find(digest)
            while at >= 0:
                if at % HASH_SIZE == 0:
                    return (self._tile_first + offset) * TILE_WIDTH + at // HASH_SIZE
                at = blob.find(digest, at + 1)
        return None
