"""The signed manifest beside each export file (CONTRACT section 8).

The manifest binds the file (name, size, SHA-256, event count, first and last ``seq``) to
what was asked (tenant, window, resource, filters) and to the log: a signed checkpoint whose
tree holds every event of the file, and RFC 9162 inclusion proofs of the first and last
event against it. The deployment's Ed25519 key signs the RFC 8785 (JCS) bytes of the
manifest without its ``signature`` field, so the stored JSON may be formatted any way.

``key`` names the signing key as ``<name>+<8 hex key id>`` (the first two parts of the
verifier key), so a verifier holding several keys knows which one applies.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import orjson
import rfc8785

from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.integrity import Signer, Verifier

__all__ = [
    "MANIFEST_SUFFIX",
    "MANIFEST_VERSION",
    "ManifestError",
    "build_manifest",
    "encode_manifest",
    "key_label",
    "load_manifest",
    "manifest_field_problem",
    "manifest_signature_problem",
    "proof_entry",
    "proof_seqs",
    "sign_manifest",
    "signing_bytes",
]

MANIFEST_VERSION = 1
MANIFEST_SUFFIX = ".manifest.json"
"""The manifest of ``FILE`` is ``FILE.manifest.json``."""
MAX_PROOF_HASHES = 64
"""An RFC 9162 inclusion proof in a tree of up to 2**64 leaves has at most 64 hashes."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_FORMATS = ("jsonl", "csv", "parquet")
_COMPRESSIONS = ("none", "gzip")


class ManifestError(ValueError):
    """The manifest cannot be read at all (not JSON, not an object)."""


def key_label(key: Signer | Verifier) -> str:
    """``<name>+<8 hex key id>``: how a manifest names the key that signed it."""
    return f"{key.name}+{key.key_id:08x}"


def proof_seqs(first_seq: int | None, last_seq: int | None) -> list[int]:
    """The seqs whose inclusion proofs the manifest carries: the file's first and last."""
    if first_seq is None or last_seq is None:
        return []
    return [first_seq] if first_seq == last_seq else [first_seq, last_seq]


def proof_entry(
    seq: int, leaf_hash: str, tree_size: int, hashes: Sequence[bytes]
) -> dict[str, Any]:
    """One element of ``proofs``: the event's seq and leaf hash, and its RFC 9162 inclusion
    proof in the checkpoint's tree (``hashes`` from the leaf's sibling up)."""
    return {
        "seq": seq,
        "leaf_hash": leaf_hash,
        "tree_size": tree_size,
        "hashes": [h.hex() for h in hashes],
    }


def build_manifest(
    *,
    export_id: str,
    tenant: str,
    format: str,
    compression: str,
    file: str,
    file_sha256: str,
    bytes: int,
    event_count: int,
    first_seq: int | None,
    last_seq: int | None,
    start: date,
    end: date,
    resource: Mapping[str, str] | None,
    filters: Mapping[str, Any],
    created_at: datetime,
    checkpoint: str | None,
    proofs: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The unsigned manifest; raises ValueError when the figures do not hang together
    (the checks a verifier will make), so a bad manifest is never signed."""
    manifest: dict[str, Any] = {
        "version": MANIFEST_VERSION,
        "export_id": export_id,
        "tenant": tenant,
        "format": format,
        "compression": compression,
        "file": file,
        "file_sha256": file_sha256,
        "bytes": bytes,
        "event_count": event_count,
        "first_seq": first_seq,
        "last_seq": last_seq,
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "resource": None if resource is None else {"type": resource["type"], "id": resource["id"]},
        "filters": dict(filters),
        "created_at": format_timestamp(created_at),
        "checkpoint": checkpoint,
        "proofs": [dict(p) for p in proofs],
    }
    problem = manifest_field_problem(manifest, signed=False)
    proven = [p["seq"] for p in manifest["proofs"]]
    if problem is None and checkpoint is not None and proven != proof_seqs(first_seq, last_seq):
        problem = f"proofs are for seqs {proven}, expected {proof_seqs(first_seq, last_seq)}"
    if problem is not None:
        raise ValueError(f"cannot build the manifest: {problem}")
    return manifest


def signing_bytes(manifest: Mapping[str, Any]) -> bytes:
    """What the signature covers: JCS of the manifest without ``signature``."""
    encoded: bytes = rfc8785.dumps({k: v for k, v in manifest.items() if k != "signature"})
    return encoded


def sign_manifest(manifest: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """A copy of ``manifest`` with ``key`` and the Ed25519 ``signature`` (base64)."""
    signed = {k: v for k, v in manifest.items() if k not in ("key", "signature")}
    signed["key"] = key_label(signer)
    signed["signature"] = base64.b64encode(signer.sign(signing_bytes(signed))).decode("ascii")
    return signed


def encode_manifest(manifest: Mapping[str, Any]) -> bytes:
    """The manifest file's bytes: indented JSON for people (the signature is over JCS)."""
    return orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def load_manifest(data: bytes) -> dict[str, Any]:
    """Parse a manifest file; ManifestError when it is not a JSON object."""
    try:
        manifest = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(f"the manifest is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise ManifestError("the manifest is not a JSON object")
    return manifest


def manifest_signature_problem(manifest: Mapping[str, Any], verifier: Verifier) -> str | None:
    """Why the manifest's signature does not hold for ``verifier``, or None."""
    key, signature = manifest.get("key"), manifest.get("signature")
    if not isinstance(key, str) or not isinstance(signature, str):
        return "the manifest has no key and signature: it is not signed"
    if key != key_label(verifier):
        return (
            f"the manifest is signed by key {key!r}, not by the verifier key "
            f"{key_label(verifier)!r} (another deployment's manifest, or the wrong key)"
        )
    try:
        raw = base64.b64decode(signature, validate=True)
        message = signing_bytes(manifest)
    except (binascii.Error, ValueError, TypeError, rfc8785.CanonicalizationError) as exc:
        return f"the manifest signature cannot be checked: {exc}"
    if not verifier.verify(message, raw):
        return "the manifest signature does not verify: the manifest was changed after signing"
    return None


def manifest_field_problem(manifest: Mapping[str, Any], *, signed: bool = True) -> str | None:
    """What is malformed or inconsistent in the manifest's fields, or None."""
    for check in (_header_problem, _file_problem, _scope_problem, _proofs_problem):
        problem = check(manifest)
        if problem is not None:
            return problem
    if signed and not isinstance(manifest.get("key"), str):
        return "key must be a string"
    return None


def _is_int(value: Any) -> bool:
    return type(value) is int and value >= 0


def _header_problem(m: Mapping[str, Any]) -> str | None:
    if m.get("version") != MANIFEST_VERSION:
        return f"version must be {MANIFEST_VERSION}, not {m.get('version')!r}"
    for name in ("export_id", "tenant", "file", "created_at"):
        if not isinstance(m.get(name), str) or not m[name]:
            return f"{name} must be a non-empty string"
    if m.get("format") not in _FORMATS:
        return f"format must be one of {', '.join(_FORMATS)}"
    if m.get("compression") not in _COMPRESSIONS:
        return "compression must be none or gzip"
    if m["format"] == "parquet" and m["compression"] != "none":
        return "a parquet file has compression none"
    return None


def _file_problem(m: Mapping[str, Any]) -> str | None:
    if not isinstance(m.get("file_sha256"), str) or not _HEX64.fullmatch(m["file_sha256"]):
        return "file_sha256 must be 64 lowercase hex digits"
    for name in ("bytes", "event_count"):
        if not _is_int(m.get(name)):
            return f"{name} must be a non-negative integer"
    first, last = m.get("first_seq"), m.get("last_seq")
    if m["event_count"] == 0:
        if first is not None or last is not None:
            return "first_seq and last_seq must be null when event_count is 0"
        return None
    if not isinstance(first, int) or not isinstance(last, int) or not _is_int(first):
        return "first_seq and last_seq must be non-negative integers"
    if not _is_int(last) or last - first + 1 < m["event_count"]:
        return f"{m['event_count']} events cannot have seqs from {first} to {last}"
    return None


def _scope_problem(m: Mapping[str, Any]) -> str | None:
    window = m.get("window")
    if not isinstance(window, dict) or set(window) != {"start", "end"}:
        return "window must be an object with start and end"
    for name in ("start", "end"):
        if not isinstance(window[name], str) or not _DAY.fullmatch(window[name]):
            return f"window.{name} must be a date as YYYY-MM-DD"
    resource = m.get("resource")
    if resource is not None and (
        not isinstance(resource, dict)
        or set(resource) != {"type", "id"}
        or not all(isinstance(v, str) for v in resource.values())
    ):
        return "resource must be null or an object with string type and id"
    if not isinstance(m.get("filters"), dict):
        return "filters must be an object"
    checkpoint = m.get("checkpoint")
    if checkpoint is None:
        if m["event_count"] > 0:
            return "a manifest of a file with events must carry a checkpoint"
    elif not isinstance(checkpoint, str):
        return "checkpoint must be a signed note (text) or null"
    return None


def _proofs_problem(m: Mapping[str, Any]) -> str | None:
    proofs = m.get("proofs")
    if not isinstance(proofs, list):
        return "proofs must be a list"
    if m.get("checkpoint") is None and proofs:
        return "proofs need a checkpoint"
    for i, proof in enumerate(proofs):
        if not isinstance(proof, dict) or set(proof) != {"seq", "leaf_hash", "tree_size", "hashes"}:
            return f"proofs[{i}] must be an object with seq, leaf_hash, tree_size and hashes"
        if not _is_int(proof["seq"]) or not _is_int(proof["tree_size"]):
            return f"proofs[{i}]: seq and tree_size must be non-negative integers"
        if not isinstance(proof["leaf_hash"], str) or not _HEX64.fullmatch(proof["leaf_hash"]):
            return f"proofs[{i}].leaf_hash must be 64 lowercase hex digits"
        hashes = proof["hashes"]
        if not isinstance(hashes, list) or len(hashes) > MAX_PROOF_HASHES:
            return f"proofs[{i}].hashes must be a list of at most {MAX_PROOF_HASHES} hashes"
        if not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in hashes):
            return f"proofs[{i}].hashes must be 64-digit lowercase hex strings"
    return None
