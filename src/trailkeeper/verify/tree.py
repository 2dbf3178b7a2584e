"""The tree recomputed from the rows' leaves, compared as it grows with the stored tree's
nodes and, at each signed checkpoint's size, with the root that checkpoint signs.

A difference from the stored tree while the rows match their own ``leaf_hash`` means the
events *or* the stored tree changed: it is kept pending until the next checkpoint tells
which. After a checkpoint that does not match, the recomputed tree continues from the
stored edge if that matches the signed root, so later checkpoints still check later events
on their own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from trailkeeper.integrity import (
    CompactRange,
    IntegrityError,
    ProofError,
    fold_edge,
    range_nodes,
)
from trailkeeper.integrity.tiles import TILE_HEIGHT, node_from_tiles, tile_key
from trailkeeper.storage.protocols import TreeState
from trailkeeper.verify.report import Findings, Problem, TrustedCheckpoint
from trailkeeper.verify.stored_tree import StoredTree

__all__ = ["RecomputedTree"]


@dataclass(slots=True)
class _Pending:
    """A leaf or node that differs from the tree recorded at integration while the row
    matches its own ``leaf_hash``: the next checkpoint decides what changed."""

    problem: Problem
    first: int
    altered: str
    """The message when a signed checkpoint confirms the events changed."""
    damaged: str
    """The message when a signed checkpoint vouches for the events."""


class RecomputedTree:
    """Leaves fed in order; see the module's docstring."""

    def __init__(
        self,
        checkpoints: Sequence[TrustedCheckpoint],
        tree: TreeState | None,
        stored: StoredTree,
        findings: Findings,
    ) -> None:
        self._checkpoints = sorted(checkpoints, key=lambda c: c.size)
        self._cp_index = 0
        self._next_cp = self._checkpoints[0].size if self._checkpoints else -1
        self._tree = tree if tree is not None and tree.size > 0 else None
        self.stored = stored
        self.covered = max(stored.integrated, *(c.size for c in self._checkpoints), 0)
        """Leaves that must exist: the largest checkpoint or integrated tree seen."""
        self.last_checkpoint = self._checkpoints[-1].size if self._checkpoints else 0
        self._findings = findings
        self._range = CompactRange()
        self._desynced = False
        """The recomputed tree could not be realigned after a failed checkpoint."""
        self._interval_start = 0
        self.guessed = False
        """A leaf fed since the last checkpoint is a guess, not known to be genuine."""
        self.matched: set[int] = set()
        """Sizes of the checkpoints whose root matched the recomputed tree."""
        self.checkpoints_verified = 0
        self._pending: list[_Pending] = []
        self.last_diff = -1
        """Last position where the fed leaf differs from (or lacks) the stored tree's."""

    @property
    def size(self) -> int:
        return self._range.size

    def pend(self, problem: Problem, altered: str, damaged: str) -> None:
        """Report ``problem`` now; the next checkpoint says which message is true."""
        kept = self._findings.add(problem)
        if kept is not None:  # beyond the cap it is only counted
            first = kept.seq if kept.seq is not None else 0
            self._pending.append(_Pending(kept, first, altered, damaged))

    def feed(self, leaf: bytes, *, guessed: bool = False, diff: bool = False) -> None:
        """Append the leaf of the next position; beyond what was integrated or signed there
        is nothing to compare the tree with, so nothing is computed."""
        if self._range.size >= self.covered:
            return
        if guessed:
            self.guessed = True
        if diff:
            self.last_diff = self._range.size
        for level, index, digest in self._range.extend_levels((leaf,), TILE_HEIGHT):
            if level:
                self._check_node(level, index, digest)
        self._after_growth()

    def feed_subtree(
        self, first: int, height: int, root: bytes, covers: Mapping[int, Sequence[bytes]]
    ) -> bool:
        """Take the perfect subtree of 2**height leaves from ``first`` by its ``root``, with
        ``covers`` the subtree's nodes up to each checkpoint inside it. False, with nothing
        changed, where that cannot be done at once (the leaves do not follow on, or a
        checkpoint inside does not match)."""
        end = first + (1 << height)
        if self._range.size != first or first & ((1 << height) - 1) or end > self.stored.integrated:
            return False
        roots = []
        index, size = self._cp_index, self._next_cp
        while first < size < end:
            nodes = covers.get(size)
            if nodes is None:
                return False
            root_at = self.root(nodes)
            if not self._desynced and root_at != self._checkpoints[index].root:
                return False  # the one-pass check reports and resyncs: let it
            roots.append(root_at)
            index += 1
            size = self._checkpoints[index].size if index < len(self._checkpoints) else -1
        for root_at in roots:
            self._at_checkpoint(root_at)
        for level, node_index, digest in self._range.append_subtree(root, height, TILE_HEIGHT):
            self._check_node(level, node_index, digest)
        self._after_growth()
        return True

    def _after_growth(self) -> None:
        size = self._range.size
        if size == self._next_cp:
            self._at_checkpoint(self._range.root())
        if size == self.stored.integrated and self._tree is not None:
            self._check_tree_state(self._tree)

    def root(self, more: Sequence[bytes] = ()) -> bytes:
        """The recomputed tree's root; with ``more``, of the tree that these perfect
        subtrees (largest first) extend."""
        return fold_edge([*self._range.hashes, *more]) if more else self._range.root()

    def _check_node(self, level: int, index: int, digest: bytes) -> None:
        first = index << level
        end = (index + 1) << level
        if end > self.stored.integrated:
            return
        stored = self.stored.node(level, index)
        if stored == digest or self.last_diff >= first:
            return  # equal, or explained by a leaf (or lower node) already found to differ
        self.last_diff = end - 1
        span = f"seqs {first}..{end - 1}"
        if stored is None:
            tile_level, tile = level // TILE_HEIGHT, index >> TILE_HEIGHT
            missing = f"the stored Merkle tree lacks the node over {span} "
            missing += f"(tile {tile_level}/{tile} is missing or short)"
            self.stored.missing_tile(tile_level, tile, Problem(first, "tree", missing, end - 1))
            return
        altered = (
            f"an event in {span} was altered, with its leaf_hash and the Merkle tree's leaf "
            f"rewritten to match: the stored tree node over {span} differs from the one "
            "recomputed from the events"
        )
        damaged = f"the stored Merkle tree's node over {span} is damaged"
        self.pend(Problem(first, "altered", altered, end - 1), altered, damaged)

    def _at_checkpoint(self, root: bytes) -> None:
        checkpoint = self._checkpoints[self._cp_index]
        self._cp_index += 1
        self._next_cp = (
            self._checkpoints[self._cp_index].size
            if self._cp_index < len(self._checkpoints)
            else -1
        )
        size = checkpoint.size
        pending = [p for p in self._pending if p.first < size]
        self._pending = [p for p in self._pending if p.first >= size]
        if self._desynced:
            return
        if root == checkpoint.root:
            self.checkpoints_verified += 1
            self.matched.add(size)
            for item in pending:  # the events are genuine: the stored tree is what changed
                item.problem.kind = "tree"
                item.problem.message = (
                    f"{item.damaged} (the events match the signed checkpoint of size {size})"
                )
        else:
            self._mismatch(checkpoint, pending)
        self._interval_start = size
        self.guessed = False

    def _mismatch(self, checkpoint: TrustedCheckpoint, pending: list[_Pending]) -> None:
        size = checkpoint.size
        for item in pending:
            item.problem.message = (
                f"{item.altered}; the signed checkpoint of size {size} confirms it"
            )
        if not pending and not self.guessed:
            start = self._interval_start
            self._findings.add(
                Problem(
                    start,
                    "altered",
                    f"the signed checkpoint of size {size} does not match the stored "
                    f"events: an event in seqs {start}..{size - 1} was altered and its "
                    "leaf_hash and the stored Merkle tree rewritten to match",
                    size - 1,
                )
            )
        self._resync(size, checkpoint.root)

    def _resync(self, size: int, root: bytes) -> None:
        """Continue from the stored tree's edge at ``size`` if it matches the signed root."""
        nodes = range_nodes(0, size)
        try:
            tiles = self.stored.read_tiles({tile_key(n) for n in nodes})
            edge = [node_from_tiles(n, tiles) for n in nodes]
        except IntegrityError:
            self._desynced = True
            return
        if fold_edge(edge) == root:
            try:
                self._range = CompactRange(size, edge)
            except ProofError:
                self._desynced = True
        else:
            self._desynced = True

    def _check_tree_state(self, tree: TreeState) -> None:
        if self.last_diff >= 0 or self._desynced or self.guessed:
            return  # the recomputed tree already differs for reasons reported
        if self._range.root() != tree.root or self._range.hashes != list(tree.edge):
            self._findings.add(
                Problem(
                    None,
                    "tree",
                    f"the stored tree state (size {tree.size}) does not match the tree "
                    "recomputed from the events: integration would continue from a damaged edge",
                )
            )

    def close(self) -> None:
        """Differences no signed checkpoint decided: say so."""
        for item in self._pending:
            item.problem.message += (
                " (no signed checkpoint covers it yet, so the stored tree may be what changed)"
            )
        self._pending = []
