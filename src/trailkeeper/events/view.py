"""The event as the API returns it (CONTRACT section 4), typed once for every layer.

Storage builds views from rows, the API serializes them, exports add ``pii_salt`` and
the leaf bytes are derived from them, so one shape names what they all pass around.
At run time a view is a plain dict (a ``TypedDict`` costs nothing): the keys the log
adds later (``seq``, ``received_at``, ``pii``, ``leaf_hash``) are ``NotRequired``
because a :class:`~trailkeeper.events.record.Draft` holds a view before it has them.
Views read back from an export file have this shape only once checked: the checker
takes them as they come and reports what is wrong."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

__all__ = ["ActorView", "EventView", "ResourceView"]


class ActorView(TypedDict):
    id: str
    type: str
    name: str | None
    email: str | None


class ResourceView(TypedDict):
    type: str
    id: str
    name: str | None


class EventView(TypedDict):
    id: str
    action: str
    category: str
    occurred_at: str
    actor: ActorView
    resource: ResourceView | None
    source: str
    ip: str | None
    user_agent: str | None
    changes: list[dict[str, Any]] | None
    run: dict[str, Any] | None
    metadata: dict[str, Any] | None
    seq: NotRequired[int]
    received_at: NotRequired[str]
    pii: NotRequired[str]
    leaf_hash: NotRequired[str]
    pii_erased: NotRequired[bool]
    """Only when the event's personal data was erased (then ``True``)."""
    pii_salt: NotRequired[str | None]
    """Only in exports (hex; None once erased): the API never returns it."""
    proof: NotRequired[dict[str, Any] | None]
    """Only from ``GET /v1/events/{id}?proof=true``."""
