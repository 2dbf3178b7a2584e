""" "Verify this tenant now": the one place the UI calls the verifier, so that it can
be pointed elsewhere if verification moves."""

from __future__ import annotations

from typing import Any

from trailkeeper.auth.tokens import Principal
from trailkeeper.events.query import EventQuery
from trailkeeper.events.view import EventView
from trailkeeper.service import Trailkeeper
from trailkeeper.service.audit import record_admin_action
from trailkeeper.verify import verify_tenant

__all__ = ["VERIFIED_ACTION", "last_verification", "verify_now"]

VERIFIED_ACTION = "trailkeeper.integrity.verified"


def verify_now(service: Trailkeeper, principal: Principal, ip: str | None) -> dict[str, Any]:
    """Re-check the tenant's whole stored log, as ``trailkeeper verify`` does, and
    record the outcome in the log itself (that is the page's "last verification")."""
    verifier = service.integrity.signer.verifier()
    report = verify_tenant(service.store, principal.tenant, verifier).as_dict(limit=5)
    summary = {k: report[k] for k in ("ok", "events", "checkpoints_verified", "first_bad_seq")}
    summary["problem_count"] = report["problem_count"]
    summary["problems"] = report["problems"]
    summary["seconds"] = report["seconds"]
    record_admin_action(
        service.store,
        principal.tenant.id,
        VERIFIED_ACTION,
        principal.actor,
        metadata=summary,
        source="web",
        ip=ip,
    )
    return summary


def last_verification(service: Trailkeeper, principal: Principal) -> EventView | None:
    """The newest recorded verification of this tenant (its event), if any."""
    query = EventQuery(action=(VERIFIED_ACTION,))
    page = service.reads.page(principal.tenant, query, None, 1)
    return page.data[0] if page.data else None
