"""Checking an export file offline against its signed manifest (``trailkeeper verify-export``).

Needs only the file, its manifest and the deployment's verifier key; no database, no
service. The checks run in this order and stop at the first failure:

1. the manifest: its Ed25519 signature over its JCS bytes, then its fields;
2. the file: its size and SHA-256 against the manifest's ``bytes`` and ``file_sha256``;
3. the checkpoint: its signature, its origin ``trailkeeper/<tenant>``, a tree larger than
   ``last_seq``, and the manifest's inclusion proofs leading to its root;
4. every event, streaming: ``pii`` recomputed from the personal data and ``pii_salt`` (an
   erased event carries neither, and its ``pii`` is taken as given), ``leaf_hash``
   recomputed from the fields, ``seq`` strictly increasing and within the manifest's range,
   and the proven events' leaves equal to the ones the checkpoint holds;
5. the count and the first and last ``seq`` against the manifest.

When the file's hash does not match (2), the events are still read to say *where* the file
was changed: the first line that fails its own checks, or, when every line passes them (a
line was removed, or changed together with its hashes), what the count and the first gap in
``seq`` suggest. A gap alone is not an error: an export with filters, or a window on
``occurred_at``, legitimately skips seqs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from trailkeeper.exports.event_checks import entry_problem, event_problem
from trailkeeper.exports.manifest import manifest_field_problem, manifest_signature_problem
from trailkeeper.exports.reading import Entry, ExportFormatError, read_entries
from trailkeeper.integrity import (
    IntegrityError,
    Verifier,
    open_checkpoint,
    origin_for_tenant,
    verify_inclusion,
)

__all__ = [
    "ExportCheck",
    "Progress",
    "Stage",
    "entry_problem",
    "event_problem",
    "verify_export",
]

Stage = Literal["manifest", "file", "checkpoint", "events"]
Progress = Callable[[int, int], None]
"""Told the bytes read so far and the bytes to read in all (the file is read twice)."""

READ_SIZE = 1024 * 1024


@dataclass(slots=True)
class ExportCheck:
    """The outcome. ``where`` is the 1-based line (JSONL, CSV; the CSV header is line 1) or
    row (Parquet) named by a failure, ``unit`` says which."""

    ok: bool
    message: str
    stage: Stage | None = None
    problem: str | None = None
    where: int | None = None
    unit: Literal["line", "row"] = "line"
    seq: int | None = None
    events: int = 0
    """Events read and checked."""
    proven: int = 0
    """Events whose inclusion in the checkpoint was verified."""
    checkpoint_size: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "message": self.message,
            "stage": self.stage,
            "problem": self.problem,
            self.unit: self.where,
            "seq": self.seq,
            "events": self.events,
            "proven": self.proven,
            "checkpoint_size": self.checkpoint_size,
        }


def verify_export(
    file_path: str | Path,
    manifest: Mapping[str, Any],
    verifier: Verifier,
    progress: Progress | None = None,
) -> ExportCheck:
    """Check ``file_path`` against ``manifest`` (parsed) with the deployment's ``verifier``.

    Raises OSError only when the file cannot be opened or read."""
    path = Path(file_path)
    unit: Literal["line", "row"] = "row" if manifest.get("format") == "parquet" else "line"
    problem = manifest_signature_problem(manifest, verifier) or manifest_field_problem(manifest)
    if problem is not None:
        return ExportCheck(False, f"manifest: {problem}", "manifest", problem, unit=unit)
    total = 2 * path.stat().st_size

    def report(done: int) -> None:
        if progress is not None:
            progress(done, total)

    size, digest = _hash_file(path, report)
    events = _Events(path, manifest, unit, lambda done: report(size + done))
    if size != manifest["bytes"] or digest != manifest["file_sha256"]:
        return _changed_file(events, manifest, verifier, size, digest)
    try:
        checkpoint_size, events.proven = _checkpoint(manifest, verifier)
    except _Refused as exc:
        return ExportCheck(False, f"checkpoint: {exc}", "checkpoint", str(exc), unit=unit)
    found = events.run()
    if found is not None:
        found.checkpoint_size = checkpoint_size
        return found
    signed = (
        "no checkpoint (the log was empty)"
        if checkpoint_size is None
        else f"checkpoint of tree size {checkpoint_size:,}, "
        f"{len(events.proven_found)} inclusion proof(s) verified"
    )
    return ExportCheck(
        True,
        f"intact: {events.count:,} events, {size:,} bytes; signed manifest, {signed}",
        unit=unit,
        events=events.count,
        proven=len(events.proven_found),
        checkpoint_size=checkpoint_size,
    )


def _hash_file(path: Path, report: Callable[[int], None]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(READ_SIZE):
            digest.update(chunk)
            size += len(chunk)
            report(size)
    return size, digest.hexdigest()


def _changed_file(
    events: _Events, manifest: Mapping[str, Any], verifier: Verifier, size: int, digest: str
) -> ExportCheck:
    """The bytes differ from what was signed: say so, and find where if the events can."""
    if size != manifest["bytes"]:
        problem = f"the file has {size:,} bytes, the manifest signs {manifest['bytes']:,}"
    else:
        problem = f"the file's SHA-256 is {digest}, the manifest signs {manifest['file_sha256']}"
    problem += ": the file was changed after export"
    with suppress(_Refused):  # proven leaves help find an event changed with its hashes
        events.proven = _checkpoint(manifest, verifier)[1]
    found = events.run()
    if found is None:
        return ExportCheck(
            False,
            f"file: {problem}; every event passes its own checks (an event may have been "
            "changed together with its hashes)",
            "file",
            problem,
            unit=events.unit,
            events=events.count,
        )
    found.stage = "file"
    found.message = f"file: {problem}; {found.message}"
    return found


class _Refused(Exception):
    """The checkpoint or a proof does not hold; the message says why."""


def _checkpoint(
    manifest: Mapping[str, Any], verifier: Verifier
) -> tuple[int | None, dict[int, bytes]]:
    """The checkpoint's size and the leaves its proofs establish (raises :class:`_Refused`)."""
    note = manifest["checkpoint"]
    if note is None:
        return None, {}  # an empty file from an empty log (the fields check allows it)
    try:
        checkpoint = open_checkpoint(note, verifier, origin=origin_for_tenant(manifest["tenant"]))
    except IntegrityError as exc:
        raise _Refused(f"the checkpoint does not verify: {exc}") from None
    last = manifest["last_seq"]
    if last is not None and checkpoint.size <= last:
        raise _Refused(
            f"the checkpoint's tree has {checkpoint.size} events, so it cannot hold seq {last}"
        )
    proven: dict[int, bytes] = {}
    for proof in manifest["proofs"]:
        seq, size = proof["seq"], proof["tree_size"]
        if size != checkpoint.size:
            raise _Refused(
                f"the proof for seq {seq} is for tree size {size}, not {checkpoint.size}"
            )
        leaf = bytes.fromhex(proof["leaf_hash"])
        hashes = [bytes.fromhex(h) for h in proof["hashes"]]
        try:
            verify_inclusion(leaf, seq, size, hashes, checkpoint.root_hash)
        except IntegrityError as exc:
            raise _Refused(f"the inclusion proof for seq {seq} does not verify: {exc}") from None
        proven[seq] = leaf
    return checkpoint.size, proven


class _Events:
    """Step 4 and 5: every event in file order, then the totals."""

    def __init__(
        self,
        path: Path,
        manifest: Mapping[str, Any],
        unit: Literal["line", "row"],
        report: Callable[[int], None],
    ) -> None:
        self.path = path
        self.format: str = manifest["format"]
        self.compression: str = manifest["compression"]
        self.first_seq: int | None = manifest["first_seq"]
        self.last_seq: int | None = manifest["last_seq"]
        self.expected: int = manifest["event_count"]
        self.unit = unit
        self.report = report
        self.proven: dict[int, bytes] = {}
        """Leaf hashes the signed checkpoint holds, by seq (from the manifest's proofs)."""
        self.proven_found: set[int] = set()
        self.count = 0
        self.prev: tuple[int, int] | None = None
        """(where, seq) of the previous event."""
        self.gap: tuple[int, int, int] | None = None
        """(where, seq, previous seq) of the first skipped seq: a hint, not an error."""

    def run(self) -> ExportCheck | None:
        """The first failure, or None when every event and the totals check out."""
        last_where = 0
        with self.path.open("rb") as raw:
            try:
                for entry in read_entries(raw, self.format, self.compression, self.report):
                    last_where = entry.where
                    found = self.check(entry)
                    if found is not None:
                        return found
            except ExportFormatError as exc:
                return self._fail(exc.where, None, exc.message)
        return self.finish(last_where)

    def check(self, entry: Entry) -> ExportCheck | None:
        view = entry.view
        seq = view.get("seq") if view is not None else None
        seq = seq if type(seq) is int and seq >= 0 else None
        if view is not None:
            self.count += 1
        if entry.problem is not None or view is None:
            return self._fail(entry.where, seq, entry.problem or "unreadable")
        if seq is None:
            return self._fail(entry.where, None, "seq is missing or not a non-negative integer")
        problem = self._place_problem(seq)
        if problem is None:
            leaf, problem = entry_problem(entry)
            expected = self.proven.get(seq)
            if problem is None and expected is not None:
                if leaf != expected:
                    problem = (
                        f"its leaf hash is not the one the signed checkpoint holds at seq {seq} "
                        "(altered)"
                    )
                else:
                    self.proven_found.add(seq)
        if problem is not None:
            return self._fail(entry.where, seq, problem)
        if self.prev is not None and seq > self.prev[1] + 1 and self.gap is None:
            self.gap = (entry.where, seq, self.prev[1])
        self.prev = (entry.where, seq)
        return None

    def _place_problem(self, seq: int) -> str | None:
        if self.prev is not None and seq <= self.prev[1]:
            return (
                f"seq {seq} follows seq {self.prev[1]} on {self.unit} {self.prev[0]} "
                "(events were reordered or duplicated)"
            )
        if self.first_seq is None or self.last_seq is None:
            return "the manifest says the file holds no event (an event was added)"
        if self.prev is None and seq > self.first_seq:
            return (
                f"the file starts at seq {seq}, the manifest's first_seq is {self.first_seq} "
                "(events were removed from the start)"
            )
        if not self.first_seq <= seq <= self.last_seq:
            return (
                f"seq {seq} is outside the manifest's {self.first_seq}..{self.last_seq} "
                "(an event was added)"
            )
        return None

    def finish(self, last_where: int) -> ExportCheck | None:
        end = last_where + 1
        if self.prev is not None and self.last_seq is not None and self.prev[1] < self.last_seq:
            return self._fail(
                end,
                None,
                f"the file ends at seq {self.prev[1]}, the manifest's last_seq is "
                f"{self.last_seq} (events were removed from the end)",
            )
        if self.prev is None and self.expected:
            return self._fail(end, None, f"the file holds no event, the manifest {self.expected:,}")
        if self.count != self.expected:
            removed = self.count < self.expected
            problem = (
                f"the file holds {self.count:,} events, the manifest {self.expected:,} "
                f"(events were {'removed' if removed else 'added'})"
            )
            if removed and self.gap is not None:
                where, seq, before = self.gap
                problem += (
                    f"; the first gap in seq is at {self.unit} {where}, where seq {seq} follows "
                    f"{before}"
                )
                return self._fail(where, seq, problem, located=False)
            return self._fail(None, None, problem)
        missing = sorted(set(self.proven) - self.proven_found)
        if missing:
            return self._fail(
                None, missing[0], f"the event the manifest proves at seq {missing[0]} is missing"
            )
        return None

    def _fail(
        self, where: int | None, seq: int | None, problem: str, *, located: bool = True
    ) -> ExportCheck:
        place = ""
        if where is not None and located:
            place = f"{self.unit} {where}" + (f" (seq {seq})" if seq is not None else "") + ": "
        return ExportCheck(
            False,
            place + problem,
            "events",
            problem,
            where=where,
            unit=self.unit,
            seq=seq,
            events=self.count,
            proven=len(self.proven_found),
        )
