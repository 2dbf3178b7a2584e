"""C2SP tlog-checkpoint bodies: the signed statement "this log had this root at this size".

Parsing is strict (no leading zeros, canonical base64, exactly 32 hash bytes) so that one
checkpoint has exactly one text, and a signature over it commits to exactly one tree head.
See https://c2sp.org/tlog-checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import CheckpointError
from .merkle import HASH_SIZE
from .notes import Signer, Verifier, open_note, sign_note

__all__ = [
    "ORIGIN_PREFIX",
    "Checkpoint",
    "open_checkpoint",
    "origin_for_tenant",
    "parse_checkpoint",
    "sign_checkpoint",
]

ORIGIN_PREFIX = "trailkeeper/"
"""Every trailkeeper log's origin line is this prefix followed by the tenant name."""

MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes are uint64 in every other implementation; larger ones cannot interoperate."""

_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_CONTROL_RE = re.compile(r"[\x00-\x1f]")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: its origin, size and root hash, plus any (discouraged) extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("origin", self.origin)
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size {self.size} is outside 0..2**64-1")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(f"root hash has {len(self.root_hash)} bytes, not {HASH_SIZE}")
        for line in self.extensions:
            _check_line("extension line", line)

    def to_text(self) -> str:
        """The note text: ``origin``, ``size``, ``base64(root)`` and extensions, one per line."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )


def origin_for_tenant(tenant: str) -> str:
    """The origin line of a tenant's log: ``trailkeeper/<tenant>``.

    The tenant must be non-empty with no spaces, control characters or '+', so that the origin
    is also usable as a note key name, as C2SP recommends.
    """
    if not tenant or "+" in tenant or any(c.isspace() or c < " " for c in tenant):
        raise CheckpointError(f"tenant {tenant!r} cannot be part of a checkpoint origin")
    return ORIGIN_PREFIX + tenant


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text (as :func:`open_note` returns it), strictly."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, tree size and root hash lines")
    origin, size_line, root_line, *extensions = lines
    if len(size_line) > len(str(MAX_TREE_SIZE)) or not _SIZE_RE.fullmatch(size_line):
        raise CheckpointError(f"tree size {size_line!r} is not a decimal without leading zeros")
    try:
        root_hash = base64.b64decode(root_line, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError(f"root hash {root_line!r} is not valid base64") from exc
    if base64.b64encode(root_hash).decode("ascii") != root_line:
        raise CheckpointError(f"root hash {root_line!r} is not canonical base64")
    return Checkpoint(origin, int(size_line), root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """Sign a checkpoint as a C2SP signed note."""
    return sign_note(checkpoint.to_text(), signer)


def open_checkpoint(
    note: str | bytes,
    verifiers: Verifier | Iterable[Verifier],
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Verify a signed checkpoint note and parse it; optionally insist on its ``origin``."""
    checkpoint = parse_checkpoint(open_note(note, verifiers))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for {checkpoint.origin!r}, expected {origin!r}")
    return checkpoint


def _check_line(what: str, line: str) -> None:
    if not line:
        raise CheckpointError(f"checkpoint {what} must not be empty")
    if _CONTROL_RE.search(line):
        raise CheckpointError(f"checkpoint {what} must not contain control characters or newlines")
