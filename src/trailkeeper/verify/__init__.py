"""``trailkeeper verify``: re-check a tenant's whole stored log (CONTRACT sections 2 and 8),
one file per step:

* :mod:`.report` — problems and the per-tenant report;
* :mod:`.checkpoints` — which stored checkpoints are validly signed, and consistent;
* :mod:`.rows` — a stored row and what its own fields say (leaf hash, ``pii``);
* :mod:`.walker` and :mod:`.wrong_rows` — the rows in ``seq`` order, classified;
* :mod:`.stored_tree` and :mod:`.tree` — the tree recomputed from the leaves on a
  :class:`~trailkeeper.integrity.CompactRange`, against the stored tiles and the signed roots;
* :mod:`.chunks` — the log in aligned chunks, checked in worker processes;
* :mod:`.runner` — all of it for one tenant of a store.

Problems are classified as ``altered``, ``missing``, ``inserted``, ``reordered``, ``truncated``
(rows deleted from the end), ``checkpoint`` (a stored checkpoint is not validly signed),
``tree`` (the stored Merkle tree is damaged although the events match the signed checkpoints)
and ``unreadable`` (a row the store cannot decode). Each names the first ``seq`` concerned.
Memory is O(log n) plus bounded buffers.
"""

from trailkeeper.verify.checkpoints import check_checkpoints
from trailkeeper.verify.report import (
    MAX_PROBLEMS,
    Problem,
    ProblemKind,
    TrustedCheckpoint,
    VerificationReport,
)
from trailkeeper.verify.rows import pii_problem, recompute, recompute_leaf
from trailkeeper.verify.runner import verify_tenant
from trailkeeper.verify.walker import LogVerifier

__all__ = [
    "MAX_PROBLEMS",
    "LogVerifier",
    "Problem",
    "ProblemKind",
    "TrustedCheckpoint",
    "VerificationReport",
    "check_checkpoints",
    "pii_problem",
    "recompute",
    "recompute_leaf",
    "verify_tenant",
]
