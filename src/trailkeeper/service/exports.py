"""Export requests: validate, apply the window rules and the daily quota, queue
the job, and show jobs as the contract's export object."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import uuid_utils

from trailkeeper.auth.tokens import Principal
from trailkeeper.deployment_key import DeploymentKey
from trailkeeper.errors import InvalidRequest, NotFound, QuotaExceeded
from trailkeeper.events.timestamps import format_timestamp
from trailkeeper.exports.request import ExportSpec, WindowRules, parse_export_request
from trailkeeper.objectstores import ObjectStore
from trailkeeper.outbound.safety import check_destination
from trailkeeper.service.audit import record_admin_action
from trailkeeper.settings import Settings
from trailkeeper.storage.protocols import EventStore, ExportRecord, ExportStore
from trailkeeper.storage.tenants import Tenant

__all__ = ["ExportRequestStore", "ExportService", "export_view"]

MAX_LIST = 100


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def export_view(record: ExportRecord, objects: ObjectStore, base_url: str) -> dict[str, Any]:
    """The export object of the contract; download URLs only once it succeeded."""
    spec = ExportSpec.from_json(record.spec)
    download_url = expires_at = manifest_url = None
    if record.status == "succeeded" and record.object_key and record.manifest_key:
        download_url, expires = objects.download_url(record.object_key, base_url)
        manifest_url, _ = objects.download_url(record.manifest_key, base_url)
        expires_at = format_timestamp(expires)
    return {
        "id": record.id,
        "status": record.status,
        "format": spec.format,
        "compression": spec.compression,
        "start": spec.start.isoformat(),
        "end": spec.end.isoformat(),
        "resource": spec.resource,
        "filters": spec.filters,
        "created_at": format_timestamp(record.created_at),
        "started_at": _stamp(record.started_at),
        "completed_at": _stamp(record.completed_at),
        "event_count": record.event_count,
        "bytes": record.bytes,
        "sha256": record.sha256,
        "error": record.error,
        "download_url": download_url,
        "download_expires_at": expires_at,
        "manifest_url": manifest_url,
    }


def seconds_to_midnight(now: datetime) -> int:
    tomorrow = (now + timedelta(days=1)).date()
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)
    return max(1, int((midnight - now).total_seconds() + 0.999))


class ExportRequestStore(ExportStore, EventStore, Protocol):
    """Export records, and the log for the ``trailkeeper.export.requested`` event."""


class ExportService:
    def __init__(
        self,
        store: ExportRequestStore,
        key: DeploymentKey,
        objects: ObjectStore,
        settings: Settings,
    ) -> None:
        self._store = store
        self._key = key
        self._objects = objects
        self._settings = settings
        self.rules = WindowRules(settings.export_max_days, settings.export_history_days)

    def request(
        self,
        principal: Principal,
        body: Mapping[str, Any],
        base_url: str,
        *,
        ip: str | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Queue an export: shape, then window, then quota (the contract's order)."""
        now = now or datetime.now(UTC)
        today: date = now.date()
        spec, webhook_url = parse_export_request(body, self.rules, today)
        sealed_url = None
        if webhook_url is not None:
            try:
                check_destination(
                    webhook_url, allow_private=self._settings.allow_private_destinations
                )
            except InvalidRequest as exc:
                raise InvalidRequest(f"'webhook_url': {exc.message}") from None
            sealed_url = self._key.seal(webhook_url)
        record = ExportRecord(
            id=f"exp_{uuid_utils.uuid7().hex}",
            tenant_id=principal.tenant.id,
            token_id=principal.token.id,
            status="queued",
            spec=spec.to_json(),
            webhook_url_sealed=sealed_url,
            created_at=now,
        )
        quota = self._settings.export_daily_quota
        quota_key = (principal.token.id, spec.quota_resource, today)
        if not self._store.create_export(record, quota_key, quota):
            wait = seconds_to_midnight(now)
            raise QuotaExceeded(
                f"This token has made its {quota} export requests for this resource today "
                f"(UTC); try again after midnight UTC, in {wait} s",
                headers={"X-Retry-After": str(wait), "Retry-After": str(wait)},
            )
        record_admin_action(
            self._store,
            principal.tenant.id,
            "trailkeeper.export.requested",
            principal.actor,
            resource=spec.resource,
            metadata={
                "export_id": record.id,
                "format": spec.format,
                "start": spec.start.isoformat(),
                "end": spec.end.isoformat(),
            },
            ip=ip,
        )
        return export_view(record, self._objects, base_url)

    def get(self, tenant: Tenant, export_id: str, base_url: str) -> dict[str, Any]:
        record = self._store.get_export(tenant.id, export_id)
        if record is None:
            raise NotFound(f"No export with id {export_id[:64]!r}")
        return export_view(record, self._objects, base_url)

    def list(
        self, tenant: Tenant, limit: int, before: str | None, base_url: str
    ) -> list[dict[str, Any]]:
        """Newest first; ``before`` continues after the last id of a previous page."""
        if not 1 <= limit <= MAX_LIST:
            raise InvalidRequest(f"'limit' must be between 1 and {MAX_LIST}")
        if before is not None and (len(before) > 64 or not before.startswith("exp_")):
            raise InvalidRequest("'before' must be an export id (exp_…)")
        records = self._store.list_exports(tenant.id, limit, before)
        return [export_view(r, self._objects, base_url) for r in records]
