"""A row whose fields do not hash to its own ``leaf_hash``: moved (the fields hash to it
under another seq nearby, or where the tiles hold it), or altered, and why."""

from __future__ import annotations

from trailkeeper.events.view import EventView
from trailkeeper.integrity import HASH_SIZE
from trailkeeper.verify.report import Findings, Problem
from trailkeeper.verify.rows import CheckedRow, describe, recompute_leaf
from trailkeeper.verify.tree import RecomputedTree

__all__ = ["REORDER_WINDOW", "WrongRows"]

REORDER_WINDOW = 16
"""A row that hashes correctly under a seq this close to its own is called reordered."""
CLASSIFY_LIMIT = 200
"""Beyond this many problems, stop the (costlier) search for where a row belongs."""
_ZERO = b"\x00" * HASH_SIZE


class WrongRows:
    """Reports a wrong row and feeds the tree what its position held, as far as anything
    stored says: the tree's leaf; a guess only when neither the fields nor the
    ``leaf_hash`` column agree with it."""

    def __init__(self, tree: RecomputedTree, findings: Findings) -> None:
        self._tree = tree
        self._findings = findings

    def check(self, seq: int, row: CheckedRow, stored_tree: bytes | None) -> None:
        view = row.view
        try:
            stored_row: bytes | None = bytes.fromhex(view["leaf_hash"])
        except (TypeError, ValueError):
            stored_row = None
        belongs = self._belongs_at(seq, view, stored_row) if stored_row is not None else None
        if belongs is not None:
            self._findings.add(
                Problem(
                    seq,
                    "reordered",
                    f"the row at seq {seq} holds the event of seq {belongs} ({describe(view)}): "
                    "rows were moved",
                )
            )
        else:
            self._altered(seq, row, stored_tree, stored_row)
        below = seq < self._tree.stored.integrated
        if stored_tree is not None:
            unsure = belongs is None and stored_tree != row.leaf and stored_tree != stored_row
            self._tree.feed(stored_tree, guessed=unsure)
        elif stored_row is not None and len(stored_row) == HASH_SIZE and belongs is None:
            self._tree.feed(stored_row, guessed=True, diff=below)
        else:
            self._tree.feed(_ZERO, guessed=True, diff=below)

    def _altered(
        self, seq: int, row: CheckedRow, stored_tree: bytes | None, stored_row: bytes | None
    ) -> None:
        if row.error is not None:
            reason = f"its fields cannot be encoded ({row.error})"
        elif stored_tree is not None and row.leaf == stored_tree:
            reason = "its stored leaf_hash was changed (its fields still match the tree)"
        else:
            reason = "its fields no longer hash to its leaf_hash"
            if stored_tree is not None and stored_row != stored_tree:
                reason += ", and its leaf_hash was changed too"
        if seq >= self._tree.last_checkpoint:
            reason += " (not yet covered by a checkpoint)"
        where = f"the event at seq {seq}"
        self._findings.add(
            Problem(seq, "altered", f"{where} ({describe(row.view)}) was altered: {reason}")
        )
        if row.personal is not None:
            self._findings.add(Problem(seq, "altered", f"{where} was altered: {row.personal}"))

    def _belongs_at(self, seq: int, view: EventView, stored_row: bytes) -> int | None:
        """The other seq under which this row's fields hash to its stored leaf_hash."""
        if self._findings.count > CLASSIFY_LIMIT:
            return None
        candidates: list[int] = []
        found = self._tree.stored.find(stored_row)
        if found is not None and found != seq:
            candidates.append(found)
        for distance in range(1, REORDER_WINDOW + 1):
            candidates.extend(q for q in (seq - distance, seq + distance) if q >= 0)
        for other in candidates:
            try:
                if recompute_leaf({**view, "seq": other}) == stored_row:
                    return other
            except Exception:
                return None
        return None
