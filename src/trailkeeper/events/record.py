"""The stored event and its integrity commitments (CONTRACT sections 4 and 8).

An event travels as its *view*: a dict in exactly the shape the API returns.
Storage builds views from rows, the API serializes them, exports add
``pii_salt``, and the leaf bytes are derived from the view, so there is one
definition of "the event as the API returns it"."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import uuid_utils

from trailkeeper.events.canonical import canonical_json, check_exact_numbers, is_float_free
from trailkeeper.events.model import EventIn
from trailkeeper.events.timestamps import format_timestamp

__all__ = [
    "PII_FIELDS",
    "Draft",
    "LeafParts",
    "draft_from_input",
    "leaf_bytes",
    "leaf_hash",
    "leaf_parts",
    "pii_commitment",
]

View = dict[str, Any]
PII_FIELDS = ("actor.name", "actor.email", "ip", "user_agent")
_LEAF_TOP = (
    "id", "seq", "action", "category", "occurred_at", "received_at",
    "source", "changes", "run", "metadata", "pii",
)  # fmt: skip


def pii_commitment(salt_hex: str, *, name: Any, email: Any, ip: Any, user_agent: Any) -> str:
    """``hex(SHA-256(salt || JCS(P)))`` where P holds the non-null personal data."""
    personal = {"email": email, "ip": ip, "name": name, "user_agent": user_agent}
    present = {k: v for k, v in personal.items() if v is not None}
    encoded = canonical_json(present, float_free=all(type(v) is str for v in present.values()))
    return hashlib.sha256(bytes.fromhex(salt_hex) + encoded).hexdigest()


def leaf_bytes(view: View, *, float_free: bool | None = None) -> bytes:
    """``L`` of CONTRACT section 8: JCS of the view without nulls and personal data.

    ``float_free`` may be passed when known (see ``canonical_json``)."""
    leaf = {key: view[key] for key in _LEAF_TOP if view.get(key) is not None}
    actor = view["actor"]
    leaf["actor"] = {k: v for k, v in actor.items() if v is not None and k not in ("name", "email")}
    resource = view.get("resource")
    if resource is not None:
        leaf["resource"] = {k: v for k, v in resource.items() if v is not None}
    return canonical_json(leaf, float_free=float_free)


def leaf_hash(view: View, *, float_free: bool | None = None) -> bytes:
    """RFC 9162 leaf hash: ``SHA-256(0x00 || L)``."""
    return hashlib.sha256(b"\x00" + leaf_bytes(view, float_free=float_free)).digest()


# Members of L before "received_at", between it and "seq", and after "seq", in JCS order
# (every top-level key is ASCII, so code point order is UTF-16 order).
_BEFORE_RECEIVED = ("action", "category", "changes", "id", "metadata", "occurred_at", "pii")
_BEFORE_SEQ = ("run",)  # and "resource", filtered like the actor
LeafParts = tuple[bytes, bytes, bytes]
"""``0x00 || L`` cut where ``received_at`` and ``seq`` go (see :func:`leaf_parts`)."""


def leaf_parts(view: View, *, float_free: bool | None = None) -> LeafParts:
    """``L`` of a view that has no ``seq`` and ``received_at`` yet, in three pieces, so
    that ``head + JCS(received_at) + middle + JCS(seq) + tail`` is ``0x00 || L``.

    JCS writes an object's members in key order, each the same wherever it sits, so
    the members that sort before ``received_at``, between it and ``seq`` and after
    ``seq`` are encoded apart (with :func:`canonical_json`) and joined around them.
    Done before a batch is sequenced, it leaves only a join and a SHA-256 per event
    for the write transaction. ``tests/property/test_validation.py`` checks it
    against RFC 8785 over the whole leaf."""
    first = {key: view[key] for key in _BEFORE_RECEIVED if view.get(key) is not None}
    actor = view["actor"]
    first["actor"] = {
        k: v for k, v in actor.items() if v is not None and k not in ("name", "email")
    }
    second: View = {key: view[key] for key in _BEFORE_SEQ if view.get(key) is not None}
    resource = view.get("resource")
    if resource is not None:
        second["resource"] = {k: v for k, v in resource.items() if v is not None}
    head = b"\x00" + canonical_json(first, float_free=float_free)[:-1] + b',"received_at":'
    middle = canonical_json(second, float_free=float_free)[1:-1]
    source = canonical_json({"source": view["source"]}, float_free=True)
    return head, b"," + middle + b',"seq":' if middle else b',"seq":', b"," + source[1:]


@dataclass(slots=True)
class Draft:
    """A validated, normalized event waiting for its ``seq``.

    ``content_hash`` identifies what the producer sent (after normalization),
    so a retried ``id`` can be told apart from a conflicting one."""

    view: View
    pii_salt: str
    content_hash: bytes
    occurred_at: datetime
    float_free: bool
    """Whether the free-form parts (changes, run, metadata) hold no floats."""
    leaf: LeafParts
    """``0x00 || L`` but for ``received_at`` and ``seq`` (:func:`leaf_parts`)."""

    @property
    def id(self) -> str:
        return str(self.view["id"])

    def leaf_hash(self, seq: int, received_at: bytes) -> bytes:
        """The RFC 9162 leaf hash once the log has given the event its place.

        ``received_at`` comes as its JSON string (``orjson.dumps(format_timestamp(…))``):
        one batch shares it."""
        head, middle, tail = self.leaf
        joined = b"".join((head, received_at, middle, str(seq).encode(), tail))
        return hashlib.sha256(joined).digest()

    def sequenced(self, seq: int, received_at: str) -> View:
        """The full view once the log has given the event its place.

        ``received_at`` comes formatted (``format_timestamp``): one batch shares it."""
        view = dict(self.view)
        view["seq"] = seq
        view["received_at"] = received_at
        view["leaf_hash"] = self.leaf_hash(seq, orjson.dumps(received_at)).hex()
        return view


def draft_from_input(event: EventIn, salt: bytes | None = None) -> Draft:
    """Normalize a validated event: defaults, UTC timestamps, salt and commitments.

    ``salt`` (16 random bytes) may come from a batch-wide draw: one system call
    for a thousand events instead of one each."""
    actor = event.actor
    resource = event.resource
    view: View = {
        "id": event.id or str(uuid_utils.uuid7()),
        "action": event.action,
        "category": event.category or event.action.split(".", 1)[0],
        "occurred_at": format_timestamp(event.occurred_at),
        "actor": {
            "id": actor.id,
            "type": actor.type,
            "name": actor.name,
            "email": actor.email,
        },
        "resource": None
        if resource is None
        else {"type": resource.type, "id": resource.id, "name": resource.name},
        "source": event.source,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "changes": None
        if event.changes is None
        else [{"field": c.field, "old": c.old, "new": c.new} for c in event.changes],
        "run": None if event.run is None else event.run.model_dump(exclude_none=True),
        "metadata": event.metadata,
    }
    free_form = [view["changes"], view["run"], view["metadata"]]
    float_free = is_float_free(free_form)
    if not float_free:
        check_exact_numbers(free_form)
    # Compared only with itself (idempotent retries), so any deterministic encoding
    # will do: orjson with sorted keys is, and is cheaper than JCS.
    content_hash = hashlib.sha256(orjson.dumps(view, option=orjson.OPT_SORT_KEYS)).digest()
    salt_hex = (salt if salt is not None else os.urandom(16)).hex()
    view["pii"] = pii_commitment(
        salt_hex,
        name=actor.name,
        email=actor.email,
        ip=event.ip,
        user_agent=event.user_agent,
    )
    return Draft(
        view=view,
        pii_salt=salt_hex,
        content_hash=content_hash,
        occurred_at=event.occurred_at,
        float_free=float_free,
        leaf=leaf_parts(view, float_free=float_free),
    )
