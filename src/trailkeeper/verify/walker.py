"""The log walker: one tenant's rows, in ``seq`` order, checked one by one.

Every row's leaf hash is recomputed from its stored fields and compared with its stored
``leaf_hash`` and with the leaf the Merkle tree's tiles recorded when it was integrated;
its ``pii`` commitment is recomputed from the personal data and ``pii_salt``; the ``seq``
column must run 0, 1, 2, … with no gap and no duplicate. The leaves go to the
:class:`~trailkeeper.verify.tree.RecomputedTree`. For a bad row the tree is fed the leaf the
tiles recorded for its position, so one bad row does not hide the rest.

Known limits: rows that neither a checkpoint nor the integrated tree covers yet (the newest
few seconds) are checked against their own ``leaf_hash`` and ``pii`` only, so deleting the
newest of them, or appending a row that hashes correctly, goes unnoticed; and an event
without ``pii_salt`` and personal data is taken as erased.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from trailkeeper.events.view import EventView
from trailkeeper.integrity import HASH_SIZE
from trailkeeper.storage.protocols import TreeState
from trailkeeper.verify.report import (
    MAX_PROBLEMS,
    Findings,
    Problem,
    ProblemKind,
    TrustedCheckpoint,
    by_seq,
)
from trailkeeper.verify.rows import CheckedRow, StoredRow, check_rows, describe, gap
from trailkeeper.verify.stored_tree import StoredTree, TileReader
from trailkeeper.verify.tree import RecomputedTree
from trailkeeper.verify.wrong_rows import WrongRows

__all__ = ["PROGRESS_EVERY", "LogVerifier", "ProgressCallback"]

ProgressCallback = Callable[[int], None]
PROGRESS_EVERY = 8192
MAX_GROUP = 64
"""Rows held at once for one seq; more are reported inserted at once (memory stays flat)."""
_ZERO = b"\x00" * HASH_SIZE


class LogVerifier:
    """Checks one tenant's rows, given in ``seq`` order, against the trusted checkpoints and
    the stored tree. Feed rows with :meth:`run`, then read :meth:`finish`."""

    def __init__(
        self,
        *,
        checkpoints: Sequence[TrustedCheckpoint] = (),
        tree: TreeState | None = None,
        read_tiles: TileReader | None = None,
        max_problems: int = MAX_PROBLEMS,
    ) -> None:
        self.findings = Findings(max_problems)
        integrated = 0 if tree is None or tree.size <= 0 else tree.size
        stored = StoredTree(read_tiles or (lambda keys: {}), integrated, self.findings)
        self.tree = RecomputedTree(checkpoints, tree, stored, self.findings)
        self._wrong = WrongRows(self.tree, self.findings)
        self.rows = 0
        self._expected = 0
        self._guess_rest = False
        """The scan stopped early: what was not read is not reported as truncated."""

    # what was found ---------------------------------------------------------------------
    @property
    def problems(self) -> list[Problem]:
        return self.findings.problems

    @property
    def problem_count(self) -> int:
        return self.findings.count

    @property
    def matched(self) -> set[int]:
        """Sizes of the checkpoints whose root matched the recomputed tree."""
        return self.tree.matched

    @property
    def checkpoints_verified(self) -> int:
        return self.tree.checkpoints_verified

    @property
    def log_size(self) -> int:
        return self._expected

    @property
    def integrated(self) -> int:
        """The size of the stored tree the rows are compared with."""
        return self.tree.stored.integrated

    @property
    def covered(self) -> int:
        """Rows that must exist: up to the largest checkpoint or integrated tree."""
        return self.tree.covered

    def _report(self, seq: int, kind: ProblemKind, message: str, last: int | None = None) -> None:
        self.findings.add(Problem(seq, kind, message, last))

    # rows -------------------------------------------------------------------------------
    def run(
        self,
        rows: Iterable[StoredRow | tuple[EventView, bytes | None]],
        progress: ProgressCallback | None = None,
    ) -> None:
        """Check ``rows`` (``(view, pii_salt)`` in seq order, duplicates included)."""
        group: list[CheckedRow] = []
        group_seq: Any = None
        count = self.rows
        tick = count + PROGRESS_EVERY
        for row in check_rows(rows):
            seq = row.view["seq"]
            if seq != group_seq or not group:
                if group:
                    self._settle(group_seq, group)
                group, group_seq = [row], seq
            elif len(group) < MAX_GROUP:
                group.append(row)
            else:  # a flood of rows under one seq: report, do not hold them
                extra = f"an extra row ({describe(row.view)}) was inserted at seq {seq}"
                self._report(seq, "inserted", extra)
            count += 1
            if count >= tick:
                self.rows, tick = count, count + PROGRESS_EVERY
                if progress is not None:
                    progress(count)
        if group:
            self._settle(group_seq, group)
        self.rows = count
        if progress is not None:
            progress(count)

    def unreadable(self, error: BaseException) -> None:
        """The store could not decode the next row: report it where it should have been."""
        after = self._expected - 1
        where = "the first row" if after < 0 else f"the row after seq {after}"
        self._report(
            self._expected,
            "unreadable",
            f"{where} cannot be read ({type(error).__name__}: {error}); it holds a value "
            "trailkeeper never writes, and the rest of the log was not checked",
        )
        self._guess_rest = True

    def _settle(self, seq: Any, group: list[CheckedRow]) -> None:
        """Check the row(s) stored under one seq and feed the position's leaf to the tree."""
        expected = self._expected
        if type(seq) is not int or seq < expected:
            for row in group:
                self._report(
                    expected,
                    "inserted",
                    f"a row with seq {seq!r} ({describe(row.view)}) was inserted before seq "
                    f"{expected}",
                )
            return
        if seq > expected:
            self._missing(expected, seq)
        genuine = group[0] if len(group) == 1 else self._genuine_of(seq, group)
        self._check_row(seq, genuine)
        self._expected = seq + 1

    def _missing(self, first: int, end: int) -> None:
        self._report(first, "missing", f"{gap(first, end)} missing (deleted)", end - 1)
        # keep the recomputed tree aligned: the tree's own leaf where it has one
        stored = self.tree.stored
        for position in range(first, min(end, self.tree.covered)):
            leaf = stored.leaf(position)
            if leaf is None:
                self.tree.feed(_ZERO, guessed=True, diff=True)
            else:
                self.tree.feed(leaf)

    def _genuine_of(self, seq: int, group: list[CheckedRow]) -> CheckedRow:
        """Several rows claim one seq: the one that is self-consistent (and matches the
        tree's leaf) is kept, the others are reported inserted."""
        stored = self.tree.stored.leaf(seq)
        scored = []
        for index, row in enumerate(group):
            good = (
                row.leaf is not None
                and row.leaf.hex() == row.view["leaf_hash"]
                and row.personal is None
            )
            scored.append((not good, not (good and stored in (None, row.leaf)), index))
        genuine = group[min(scored)[2]]
        for other in group:
            if other is not genuine:
                self._report(
                    seq,
                    "inserted",
                    f"an extra row ({describe(other.view)}) was inserted at seq {seq}, beside "
                    f"the event {describe(genuine.view)}",
                )
        return genuine

    def _check_row(self, seq: int, row: CheckedRow) -> None:
        leaf, view = row.leaf, row.view
        stored_tree = self.tree.stored.leaf(seq)
        below = seq < self.integrated
        if leaf is None or leaf.hex() != view["leaf_hash"]:
            self._wrong.check(seq, row, stored_tree)
            return
        if row.personal is not None:
            self._report(seq, "altered", f"the event at seq {seq} was altered: {row.personal}")
        if stored_tree is None or stored_tree == leaf:
            self.tree.feed(leaf, diff=below and stored_tree is None)
            return
        # fields and leaf_hash agree but differ from the tree: both rewritten, or the
        # tree damaged; the next checkpoint tells which
        altered = (
            f"the event at seq {seq} ({describe(view)}) was altered and its stored "
            "leaf_hash rewritten to match: both differ from the leaf recorded in the "
            "Merkle tree when it was integrated"
        )
        damaged = f"the stored Merkle tree's leaf for seq {seq} is damaged"
        self.tree.pend(Problem(seq, "altered", altered), altered, damaged)
        self.tree.feed(leaf, diff=True)

    # chunks checked elsewhere -----------------------------------------------------------
    def feed_subtree(
        self, first: int, height: int, root: bytes, covers: Mapping[int, Sequence[bytes]]
    ) -> bool:
        """Take the 2**height rows from seq ``first`` at once: rows found clean, inside the
        integrated tree, whose stored tiles hold exactly their recomputed subtree, of
        which ``root`` is the root and ``covers`` the nodes up to each checkpoint inside.

        The state afterwards is the one feeding each row would leave. False, with nothing
        changed, where that cannot be done at once: the caller then feeds the rows."""
        if self._guess_rest or self._expected != first:
            return False
        if not self.tree.feed_subtree(first, height, root, covers):
            return False
        self._expected = first + (1 << height)
        self.rows += 1 << height
        return True

    def feed_leaves(self, first: int, hashes: bytes) -> bool:
        """Take rows from seq ``first`` on, found clean (each one's leaf equal to its
        ``leaf_hash`` and to the leaf the tiles recorded, its pii holding), by their leaf
        hashes: what checking each row would do. False, with nothing changed, when they
        do not follow on."""
        if self._guess_rest or self._expected != first:
            return False
        count = len(hashes) // HASH_SIZE
        feed = self.tree.feed
        for at in range(0, count * HASH_SIZE, HASH_SIZE):
            feed(hashes[at : at + HASH_SIZE])
        self._expected = first + count
        self.rows += count
        return True

    # end --------------------------------------------------------------------------------
    def finish(self) -> list[Problem]:
        """Close the check: a log shorter than what was integrated or signed lost its tail."""
        self.tree.close()
        end, covered = self._expected, self.tree.covered
        if end < covered and not self._guess_rest:
            by = (
                f"the signed checkpoint of size {self.tree.last_checkpoint}"
                if self.tree.last_checkpoint == covered
                else f"the Merkle tree integrated up to size {covered}"
            )
            self._report(
                end,
                "truncated",
                ("no row is left" if end == 0 else f"the log ends after seq {end - 1}")
                + f" but {by} covers {covered:,} events: "
                f"{gap(end, covered)} missing (deleted from the end)",
                covered - 1,
            )
        self.problems.sort(key=by_seq)
        return self.problems
