"""Self-audit: trailkeeper records its own administrative actions in the
tenant's log (CONTRACT section 5), through the same path as any event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trailkeeper.events.batch import drafts_from_events
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.storage.protocols import EventStore

__all__ = ["CLI_ACTOR", "record_admin_action"]

CLI_ACTOR = {"id": "trailkeeper-cli", "type": "system", "name": "trailkeeper CLI"}


def record_admin_action(
    store: EventStore,
    tenant_id: int,
    action: str,
    actor: dict[str, Any],
    *,
    resource: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    source: str = "api",
    ip: str | None = None,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> None:
    """Append the event; with ``event_id`` and ``occurred_at`` fixed, recording it
    twice stores it once (the second is an idempotent retry)."""
    event: dict[str, Any] = {
        "action": action,
        "category": "trailkeeper",
        "occurred_at": format_timestamp(occurred_at or datetime.now(UTC)),
        "actor": actor,
        "source": source,
    }
    if resource is not None:
        event["resource"] = resource
    if metadata is not None:
        event["metadata"] = metadata
    if ip is not None:
        event["ip"] = ip
    if event_id is not None:
        event["id"] = event_id
    store.append(tenant_id, drafts_from_events([event]))
