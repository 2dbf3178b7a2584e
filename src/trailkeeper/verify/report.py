"""What ``verify`` found: problems, the per-tenant report, and the capped list they go in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "MAX_PROBLEMS",
    "Findings",
    "Problem",
    "ProblemKind",
    "TrustedCheckpoint",
    "VerificationReport",
    "by_seq",
]

ProblemKind = Literal[
    "altered", "missing", "inserted", "reordered", "truncated", "checkpoint", "tree", "unreadable"
]

MAX_PROBLEMS = 1000
"""Problems kept with their details; more are only counted (memory stays bounded)."""


@dataclass(slots=True)
class Problem:
    """One finding. ``seq`` is the first seq concerned (None for the tree state as a whole)."""

    seq: int | None
    kind: ProblemKind
    message: str
    last_seq: int | None = None
    """Last seq concerned when the problem spans a range."""

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"seq": self.seq, "kind": self.kind, "message": self.message}
        if self.last_seq is not None and self.last_seq != self.seq:
            found["last_seq"] = self.last_seq
        return found


def by_seq(problem: Problem) -> tuple[bool, int]:
    """Sort key: problems in seq order, those about the tree as a whole last."""
    return (problem.seq is None, problem.seq or 0)


class Findings:
    """Problems as they are found: the first ``cap`` kept, every one counted."""

    __slots__ = ("cap", "count", "problems")

    def __init__(self, cap: int = MAX_PROBLEMS) -> None:
        self.cap = cap
        self.count = 0
        self.problems: list[Problem] = []

    def add(self, problem: Problem) -> Problem | None:
        """Record ``problem``; it is returned when kept (to be amended later), else None."""
        self.count += 1
        if len(self.problems) < self.cap:
            self.problems.append(problem)
            return problem
        return None


@dataclass(frozen=True, slots=True)
class TrustedCheckpoint:
    """A stored checkpoint whose signature verified: the size and root it signs."""

    size: int
    root: bytes


@dataclass(slots=True)
class VerificationReport:
    tenant: str
    events: int = 0
    """Stored rows read and re-hashed."""
    log_size: int = 0
    """Where the log ends: one past the last seq seen."""
    checkpoints: int = 0
    """Stored checkpoints."""
    checkpoints_signed: int = 0
    """Stored checkpoints whose signature verified with the verifier key."""
    checkpoints_verified: int = 0
    """Checkpoints whose signature verified and whose root matched the recomputed tree."""
    latest_checkpoint: int | None = None
    integrated: int = 0
    removed: int = 0
    """Events archived and deleted by retention: seqs 0 to ``removed - 1``."""
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def unsealed(self) -> bool:
        """Events are stored but no checkpoint is: nothing signed vouches for them."""
        return self.log_size > 0 and self.checkpoints == 0

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self, limit: int = 20) -> dict[str, Any]:
        first = self.first_problem
        return {
            "tenant": self.tenant,
            "ok": self.ok,
            "events": self.events,
            "log_size": self.log_size,
            "checkpoints": self.checkpoints,
            "checkpoints_signed": self.checkpoints_signed,
            "checkpoints_verified": self.checkpoints_verified,
            "latest_checkpoint": self.latest_checkpoint,
            "removed_by_retention": None
            if not self.removed
            else {"events": self.removed, "first_seq": 0, "last_seq": self.removed - 1},
            "unsealed": self.unsealed,
            "first_bad_seq": None if first is None else first.seq,
            "problem_count": self.problem_count,
            "problems": [p.as_dict() for p in self.problems[:limit]],
            "seconds": round(self.seconds, 3),
        }
