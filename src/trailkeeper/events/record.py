"""The stored event and its integrity commitments (CONTRACT sections 4 and 8).

An event travels as its *view* (:class:`~trailkeeper.events.view.EventView`): a dict in
exactly the shape the API returns. Storage builds views from rows, the API serializes
them, exports add ``pii_salt``, and the leaf bytes are derived from the view, so there is
one definition of "the event as the API returns it"."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import msgspec
import orjson
import uuid_utils

from trailkeeper import speedups
from trailkeeper.events.canonical import canonical_json, check_exact_numbers, is_float_free
from trailkeeper.events.model import RunIn, ValidEvent
from trailkeeper.events.view import EventView

__all__ = [
    "PII_FIELDS",
    "Draft",
    "LeafParts",
    "draft_from_input",
    "draft_leaf",
    "draft_leaf_python",
    "leaf_bytes",
    "leaf_hash",
    "pii_commitment",
    "sequenced_leaf_hash",
]

PII_FIELDS = ("actor.name", "actor.email", "ip", "user_agent")
_native_draft_leaf = speedups.draft_leaf
_LeafKey = Literal[
    "id", "seq", "action", "category", "occurred_at", "received_at",
    "source", "changes", "run", "metadata", "pii",
]  # fmt: skip
_LEAF_TOP: tuple[_LeafKey, ...] = get_args(_LeafKey)


def pii_commitment(salt_hex: str, *, name: Any, email: Any, ip: Any, user_agent: Any) -> str:
    """``hex(SHA-256(salt || JCS(P)))`` where P holds the non-null personal data."""
    return _pii(bytes.fromhex(salt_hex), name, email, ip, user_agent)


def _pii(salt: bytes, name: Any, email: Any, ip: Any, user_agent: Any) -> str:
    personal = {"email": email, "ip": ip, "name": name, "user_agent": user_agent}
    present = {k: v for k, v in personal.items() if v is not None}
    encoded = canonical_json(present, float_free=all(type(v) is str for v in present.values()))
    return hashlib.sha256(salt + encoded).hexdigest()


def leaf_bytes(view: EventView, *, float_free: bool | None = None) -> bytes:
    """``L`` of CONTRACT section 8: JCS of the view without nulls and personal data.

    ``float_free`` may be passed when known (see ``canonical_json``)."""
    leaf: dict[str, Any] = {key: view[key] for key in _LEAF_TOP if view.get(key) is not None}
    actor = view["actor"]
    leaf["actor"] = {k: v for k, v in actor.items() if v is not None and k not in ("name", "email")}
    resource = view.get("resource")
    if resource is not None:
        leaf["resource"] = {k: v for k, v in resource.items() if v is not None}
    return canonical_json(leaf, float_free=float_free)


def leaf_hash(view: EventView, *, float_free: bool | None = None) -> bytes:
    """RFC 9162 leaf hash: ``SHA-256(0x00 || L)``."""
    return hashlib.sha256(b"\x00" + leaf_bytes(view, float_free=float_free)).digest()


LeafParts = tuple[bytes, bytes, bytes]
"""``0x00 || L`` cut where ``received_at`` and ``seq`` go (see :func:`_leaf_parts`)."""


def _leaf_parts(
    first: dict[str, Any], second: dict[str, Any], source: Any, float_free: bool
) -> LeafParts:
    """``L`` of an event that has no ``seq`` and ``received_at`` yet, in three pieces, so
    that ``head + JCS(received_at) + middle + JCS(seq) + tail`` is ``0x00 || L``.

    JCS writes an object's members in key order, each the same wherever it sits, so the
    members that sort before ``received_at`` (``first``), between it and ``seq``
    (``second``) and after ``seq`` (``source``) are encoded apart with
    :func:`canonical_json` and joined around them. Done before a batch is sequenced, it
    leaves only a join and a SHA-256 per event for the write transaction.
    ``tests/property/test_validation.py`` checks the joined bytes against RFC 8785 over
    the whole leaf."""
    head = b"\x00" + canonical_json(first, float_free=float_free)[:-1] + b',"received_at":'
    middle = b","
    if second:
        middle += canonical_json(second, float_free=float_free)[1:-1] + b","
    tail = canonical_json({"source": source}, float_free=True)[1:]
    return head, middle + b'"seq":', b"," + tail


def sequenced_leaf_hash(leaf: LeafParts, seq: int, received_at: bytes) -> bytes:
    """The RFC 9162 leaf hash of an event's leaf pieces once it has its ``seq`` and
    ``received_at`` (as its JSON string)."""
    head, middle, tail = leaf
    return hashlib.sha256(b"".join((head, received_at, middle, str(seq).encode(), tail))).digest()


@dataclass(slots=True)
class Draft:
    """A validated, normalized event waiting for its ``seq``.

    ``content_hash`` identifies what the producer sent (after normalization),
    so a retried ``id`` can be told apart from a conflicting one."""

    view: EventView
    pii_salt: str
    content_hash: bytes
    occurred_at: datetime
    leaf: LeafParts
    """``0x00 || L`` but for ``received_at`` and ``seq`` (:func:`_leaf_parts`)."""

    @property
    def id(self) -> str:
        return str(self.view["id"])

    def leaf_hash(self, seq: int, received_at: bytes) -> bytes:
        """The RFC 9162 leaf hash once the log has given the event its place.

        ``received_at`` comes as its JSON string (``orjson.dumps(format_timestamp(…))``):
        one batch shares it."""
        return sequenced_leaf_hash(self.leaf, seq, received_at)

    def sequenced(self, seq: int, received_at: str) -> EventView:
        """The full view once the log has given the event its place.

        ``received_at`` comes formatted (``format_timestamp``): one batch shares it."""
        view = self.view.copy()
        view["seq"] = seq
        view["received_at"] = received_at
        view["leaf_hash"] = self.leaf_hash(seq, orjson.dumps(received_at)).hex()
        return view


def draft_from_input(valid: ValidEvent, salt: bytes | None = None) -> Draft:
    """Normalize a validated event: defaults, UTC timestamps, salt and commitments.

    ``salt`` (16 random bytes) may come from a batch-wide draw: one system call
    for a thousand events instead of one each."""
    event, moment, ip = valid.event, valid.occurred_at, valid.ip
    actor = event.actor
    resource = event.resource
    view: EventView = {
        "id": event.id or str(uuid_utils.uuid7()),
        "action": event.action,
        "category": event.category or event.action.split(".", 1)[0],
        "occurred_at": valid.occurred_text,
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
        "ip": ip,
        "user_agent": event.user_agent,
        "changes": None
        if event.changes is None
        else [{"field": c.field, "old": c.old, "new": c.new} for c in event.changes],
        "run": None if event.run is None else _present(event.run),
        "metadata": event.metadata,
    }
    # Compared only with itself (idempotent retries), so any deterministic encoding
    # will do: orjson with sorted keys is, and is cheaper than JCS.
    content_hash = hashlib.sha256(orjson.dumps(view, option=orjson.OPT_SORT_KEYS)).digest()
    salt = salt if salt is not None else os.urandom(16)
    fields: LeafFields = (
        event.action, actor.id, actor.type, actor.name, actor.email, view["category"],
        view["changes"], view["id"], event.metadata, view["occurred_at"], ip, event.user_agent,
        None if resource is None else resource.type, None if resource is None else resource.id,
        None if resource is None else resource.name, view["run"], event.source,
    )  # fmt: skip
    pii, leaf = draft_leaf(salt, fields)
    view["pii"] = pii
    return Draft(
        view=view,
        pii_salt=salt.hex(),
        content_hash=content_hash,
        occurred_at=moment,
        leaf=leaf,
    )


LeafFields = tuple[Any, ...]
"""What the leaf and the pii commitment are made of, in this order: action, actor id,
actor type, actor name, actor email, category, changes, id, metadata, occurred_at (text),
ip, user_agent, resource type, resource id, resource name, run, source."""


def draft_leaf(salt: bytes, fields: LeafFields) -> tuple[str, LeafParts]:
    """The ``pii`` commitment and the leaf pieces (:func:`_leaf_parts`): from the C encoder
    that ``verify`` uses where it answers, else :func:`draft_leaf_python` (which also raises
    for a number ingest refuses)."""
    if _native_draft_leaf is not None:
        answer = _native_draft_leaf(salt, hashlib.sha256, *fields)
        if answer is not None:
            return answer
    return draft_leaf_python(salt, fields)


def draft_leaf_python(salt: bytes, fields: LeafFields) -> tuple[str, LeafParts]:
    """:func:`draft_leaf` in Python: the reference for the C encoder's answers."""
    (
        action, actor_id, actor_type, name, email, category, changes, id_, metadata,
        occurred, ip, user_agent, resource_type, resource_id, resource_name, run, source,
    ) = fields  # fmt: skip
    free_form = [changes, run, metadata]
    float_free = is_float_free(free_form)
    if not float_free:
        check_exact_numbers(free_form)
    pii = _pii(salt, name, email, ip, user_agent)
    # The members of L (CONTRACT section 8: no nulls, no personal data) before
    # "received_at", and between it and "seq" (all top-level keys are ASCII, so this
    # is JCS's order too).
    first: dict[str, Any] = {
        "action": action,
        "actor": {"id": actor_id, "type": actor_type},
        "category": category,
        "id": id_,
        "occurred_at": occurred,
        "pii": pii,
    }
    second: dict[str, Any] = {}
    for key, value in (("changes", changes), ("metadata", metadata)):
        if value is not None:
            first[key] = value
    if resource_type is not None:
        second["resource"] = {"id": resource_id, "type": resource_type}
        if resource_name is not None:
            second["resource"]["name"] = resource_name
    if run is not None:
        second["run"] = run
    return pii, _leaf_parts(first, second, source, float_free)


def _present(run: RunIn) -> dict[str, Any]:
    """The run's members that are not null, in declaration order."""
    return {k: v for k, v in msgspec.structs.asdict(run).items() if v is not None}
