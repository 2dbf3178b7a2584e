"""Typed errors of the integrity core.

One base class lets callers (the API, the CLI, ``verify-export``) catch every integrity failure in
one place, while the subclasses say which kind of evidence was bad.
"""

from __future__ import annotations

__all__ = ["CheckpointError", "IntegrityError", "NoteError", "ProofError"]


class IntegrityError(ValueError):
    """Base class: some integrity evidence (proof, note, checkpoint) is invalid."""


class ProofError(IntegrityError):
    """A Merkle proof could not be planned, assembled or verified."""


class NoteError(IntegrityError):
    """A signed note or key string is malformed, or its signatures do not verify."""


class CheckpointError(IntegrityError):
    """A checkpoint body is malformed or does not match what the caller expected."""
