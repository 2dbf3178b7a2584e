"""The OCSF form of an event: API Activity (class 6003) of OCSF 1.8.0.

OCSF asks producers to pin one schema version and name it in ``metadata.version``;
ours is :data:`OCSF_VERSION`. The activity comes from the action's verb (the last
of its words that is a known verb: ``card.moved`` is an Update, ``token.revoked`` a
Delete), 99 Other when none is. What has no OCSF home goes in ``unmapped``."""

from __future__ import annotations

from typing import Any

from trailkeeper import __version__
from trailkeeper.events.timestamps import parse_rfc3339, to_micros
from trailkeeper.events.view import ActorView, EventView

__all__ = ["OCSF_VERSION", "activity_of", "epoch_ms", "ocsf_event"]

OCSF_VERSION = "1.8.0"
CLASS_UID = 6003
CATEGORY_UID = 6
OTHER = 99
_NAMES = {1: "Create", 2: "Read", 3: "Update", 4: "Delete", OTHER: "Other"}
_VERBS: dict[int, frozenset[str]] = {
    1: frozenset(
        [
            "create",
            "created",
            "add",
            "added",
            "invite",
            "invited",
            "insert",
            "inserted",
            "register",
            "registered",
            "upload",
            "uploaded",
            "import",
            "imported",
            "start",
            "started",
            "open",
            "opened",
            "requested",
            "request",
            "generate",
            "generated",
            "issued",
            "issue",
            "submitted",
            "submit",
        ]
    ),
    2: frozenset(
        [
            "read",
            "view",
            "viewed",
            "get",
            "list",
            "listed",
            "download",
            "downloaded",
            "export",
            "exported",
            "access",
            "accessed",
            "search",
            "searched",
            "query",
            "queried",
            "login",
            "logged_in",
        ]
    ),
    3: frozenset(
        [
            "update",
            "updated",
            "move",
            "moved",
            "change",
            "changed",
            "rename",
            "renamed",
            "edit",
            "edited",
            "rotate",
            "rotated",
            "set",
            "enable",
            "enabled",
            "disable",
            "disabled",
            "assign",
            "assigned",
            "approve",
            "approved",
            "modify",
            "modified",
            "replace",
            "replaced",
            "restore",
            "restored",
            "reset",
            "succeeded",
            "failed",
            "completed",
            "finished",
            "paused",
            "resumed",
        ]
    ),
    4: frozenset(
        [
            "delete",
            "deleted",
            "remove",
            "removed",
            "revoke",
            "revoked",
            "destroy",
            "destroyed",
            "archive",
            "archived",
            "purge",
            "purged",
            "erase",
            "erased",
            "drop",
            "dropped",
        ]
    ),
}
_USER_TYPES = {"user": 1, "system": 3}
_FAILED = frozenset({"failed", "failure", "error", "errored"})


def activity_of(action: str) -> int:
    """1 Create, 2 Read, 3 Update, 4 Delete or 99 Other, from the action's verb."""
    for word in reversed(action.split(".")):
        for activity, verbs in _VERBS.items():
            if word in verbs:
                return activity
    return OTHER


def epoch_ms(timestamp: str) -> int:
    return to_micros(parse_rfc3339(timestamp)) // 1000


def _pruned(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != {} and v != []}


def _actor(actor: ActorView) -> dict[str, Any]:
    kind = actor.get("type") or "user"
    user = {
        "uid": actor.get("id"),
        "name": actor.get("name"),
        "email_addr": actor.get("email"),
        "type_id": _USER_TYPES.get(kind, OTHER),
        "type": kind.replace("_", " ").title() if kind not in _USER_TYPES else kind.title(),
    }
    return {"user": _pruned(user)}


def _status(event: EventView) -> tuple[int, str]:
    run = event.get("run") or {}
    if str(run.get("status") or "").lower() in _FAILED:
        return 2, "Failure"
    return 1, "Success"


def ocsf_event(event: EventView) -> dict[str, Any]:
    """The event (as the API returns it) as an OCSF API Activity event."""
    activity = activity_of(event["action"])
    status_id, status = _status(event)
    resource = event.get("resource")
    endpoint = {"ip": event["ip"]} if event.get("ip") else {"name": event.get("source")}
    unmapped = _pruned({k: event.get(k) for k in ("category", "source", "changes", "run")})
    return _pruned(
        {
            "class_uid": CLASS_UID,
            "class_name": "API Activity",
            "category_uid": CATEGORY_UID,
            "category_name": "Application Activity",
            "activity_id": activity,
            "activity_name": _NAMES[activity],
            "type_uid": CLASS_UID * 100 + activity,
            "type_name": f"API Activity: {_NAMES[activity]}",
            "severity_id": 1,
            "severity": "Informational",
            "status_id": status_id,
            "status": status,
            "time": epoch_ms(event["occurred_at"]),
            "message": event["action"],
            "metadata": _pruned(
                {
                    "version": OCSF_VERSION,
                    "product": {
                        "name": "trailkeeper",
                        "vendor_name": "trailkeeper",
                        "version": __version__,
                    },
                    "uid": event["id"],
                    "sequence": event.get("seq"),
                    "logged_time": epoch_ms(event["received_at"]),
                    "original_time": event["occurred_at"],
                    "log_name": "audit",
                }
            ),
            "actor": _actor(event["actor"]),
            "api": {"operation": event["action"], "request": {"uid": event["id"]}},
            "src_endpoint": _pruned(endpoint),
            "http_request": _pruned({"user_agent": event.get("user_agent")}),
            "resources": [_pruned(dict(resource))] if resource else None,
            "unmapped": _pruned({**unmapped, "metadata": event.get("metadata")}),
        }
    )
