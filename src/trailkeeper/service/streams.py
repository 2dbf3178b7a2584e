"""Stream use cases shared by the API and the CLI: create, list, show, pause,
resume, test, delete, each recorded in the tenant's log (self-audit).

Secrets are split off the config when a stream is made, sealed with the
deployment key, and never shown again; the view holds the rest of the config."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import uuid_utils

from trailkeeper.deployment_key import DeploymentKey
from trailkeeper.errors import InvalidRequest, NotFound
from trailkeeper.events.timestamps import format_timestamp, parse_rfc3339
from trailkeeper.events.view import EventView
from trailkeeper.service.audit import record_admin_action
from trailkeeper.settings import Settings
from trailkeeper.storage.protocols import EventStore
from trailkeeper.storage.streamsql import StreamRecord, StreamStatus
from trailkeeper.storage.tenants import Tenant
from trailkeeper.streams.checks import check_config_destinations
from trailkeeper.streams.config import SECRETS, parse_config, parse_request
from trailkeeper.streams.destinations.base import Batch
from trailkeeper.streams.engine import stream_query
from trailkeeper.streams.formats import format_events
from trailkeeper.streams.supervisor import StreamSupervisor, SupervisorStore

__all__ = ["StreamAdminStore", "StreamService", "stream_view"]

Actor = dict[str, Any]


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def stream_view(record: StreamRecord, last_seq: int) -> dict[str, Any]:
    """The stream object of the contract (secrets never included)."""
    return {
        "id": record.id,
        "name": record.name,
        "type": record.type,
        "format": record.format,
        "filters": record.filters,
        "config": record.config,
        "status": record.status,
        "cursor_seq": record.cursor_seq,
        "lag_events": max(0, last_seq - record.cursor_seq),
        "delivered": record.delivered,
        "last_delivery_at": _stamp(record.last_delivery_at),
        "last_error": record.last_error,
        "created_at": format_timestamp(record.created_at),
        "updated_at": format_timestamp(record.updated_at),
    }


class StreamAdminStore(SupervisorStore, EventStore, Protocol):
    """What the supervisor needs, and the log for the streams' self-audit events."""


class StreamService:
    def __init__(self, store: StreamAdminStore, key: DeploymentKey, settings: Settings) -> None:
        self._store = store
        self._key = key
        self._settings = settings
        self.supervisor = StreamSupervisor(store, key, settings)

    def _view(self, record: StreamRecord) -> dict[str, Any]:
        return stream_view(record, self._store.last_seq(record.tenant_id))

    def _audit(
        self, tenant: Tenant, verb: str, record: StreamRecord, actor: Actor, source: str,
        ip: str | None = None, **extra: Any,
    ) -> None:  # fmt: skip
        record_admin_action(
            self._store,
            tenant.id,
            f"trailkeeper.stream.{verb}",
            actor,
            resource={"type": "stream", "id": record.id, "name": record.name},
            metadata={"stream_id": record.id, "type": record.type, **extra},
            source=source,
            ip=ip,
        )

    def create(
        self, tenant: Tenant, body: Any, actor: Actor, *, source: str = "api"
    ) -> dict[str, Any]:
        request = parse_request(body)
        config = parse_config(request.type, request.config)
        stream_query(request.filters)  # the filters' own checks: a 400 now
        check_config_destinations(config, self._settings.allow_private_destinations)
        values = config.model_dump(exclude_none=True)
        secret_names = SECRETS.get(request.type, ())
        secrets = {k: values.pop(k) for k in secret_names if k in values}
        now = datetime.now(UTC)
        record = StreamRecord(
            id=f"str_{uuid_utils.uuid7().hex}",
            tenant_id=tenant.id,
            name=request.name,
            type=request.type,
            format=request.format,
            filters=dict(request.filters),
            config=values,
            secrets_sealed=self._key.seal(orjson.dumps(secrets).decode()) if secrets else None,
            status="active",
            cursor_seq=self._start_cursor(tenant.id, request.start),
            delivered=0,
            created_at=now,
            updated_at=now,
        )
        self._store.create_stream(record)
        self._audit(tenant, "created", record, actor, source, format=record.format)
        return self._view(record)

    def _start_cursor(self, tenant_id: int, start: str) -> int:
        """``now``: after the newest event; ``beginning``: before the first; a time:
        before the first event received at or after it."""
        if start == "now":
            return self._store.last_seq(tenant_id)
        if start == "beginning":
            return -1
        try:
            moment = parse_rfc3339(start)
        except ValueError as exc:
            raise InvalidRequest(
                f"'start' {exc}; or use 'now' or 'beginning'",
                [{"field": "start", "message": str(exc)}],
            ) from None
        return self._store.seq_received_from(tenant_id, moment) - 1

    def _get(self, tenant: Tenant, stream_id: str) -> StreamRecord:
        record = self._store.get_stream(tenant.id, stream_id)
        if record is None:
            raise NotFound(f"No stream with id {stream_id[:64]!r}")
        return record

    def get(self, tenant: Tenant, stream_id: str) -> dict[str, Any]:
        return self._view(self._get(tenant, stream_id))

    def list(self, tenant: Tenant) -> list[dict[str, Any]]:
        last = self._store.last_seq(tenant.id)
        return [stream_view(r, last) for r in self._store.list_streams(tenant.id)]

    def set_status(
        self, tenant: Tenant, stream_id: str, status: StreamStatus, actor: Actor,
        *, source: str = "api", ip: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Pause (``paused``) or resume (``active``: a failing stream is retried now)."""
        record = self._store.set_stream_status(tenant.id, self._get(tenant, stream_id).id, status)
        if record is None:
            raise NotFound(f"No stream with id {stream_id[:64]!r}")
        verb = "paused" if status == "paused" else "resumed"
        self._audit(tenant, verb, record, actor, source, ip)
        return self._view(record)

    def delete(
        self, tenant: Tenant, stream_id: str, actor: Actor, *, source: str = "api"
    ) -> dict[str, Any]:
        record = self._get(tenant, stream_id)
        if not self._store.delete_stream(tenant.id, record.id):
            raise NotFound(f"No stream with id {stream_id[:64]!r}")
        self._audit(tenant, "deleted", record, actor, source)
        return {"id": record.id, "deleted": True}

    def test(
        self, tenant: Tenant, stream_id: str, actor: Actor, *, source: str = "api",
        ip: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Send one made-up event (``trailkeeper.stream.test``, not in the log) now."""
        record = self._get(tenant, stream_id)
        event = _test_event(record, actor)
        destination = self.supervisor.open(record)
        try:
            items = format_events(record.format, [event])
            batch = Batch(f"{record.id}-test", [0], [destination.encode(items[0])])
            outcome = destination.send(batch)
        finally:
            destination.close()
        delivered = outcome.kind == "accepted"
        self._audit(tenant, "tested", record, actor, source, ip, delivered=delivered)
        return {"delivered": delivered, "error": None if delivered else outcome.message}


def _test_event(record: StreamRecord, actor: Actor) -> EventView:
    """A made-up event, never in the log: it has no ``pii`` or ``leaf_hash`` (a view's
    keys that only the log adds)."""
    now = format_timestamp(datetime.now(UTC))
    return {
        "id": f"test-{uuid_utils.uuid7().hex}",
        "seq": 0,
        "action": "trailkeeper.stream.test",
        "category": "trailkeeper",
        "occurred_at": now,
        "received_at": now,
        "actor": {"id": actor["id"], "type": actor.get("type", "service_account"),
                  "name": actor.get("name"), "email": None},
        "resource": {"type": "stream", "id": record.id, "name": record.name},
        "source": "api",
        "ip": None,
        "user_agent": None,
        "changes": None,
        "run": None,
        "metadata": {"test": True},
    }  # fmt: skip
