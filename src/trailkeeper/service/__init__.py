"""Use cases shared by every interface (REST, GraphQL, the web UI and the CLI).

``Trailkeeper`` is built once from ``Settings`` and handed to the interfaces;
it owns the store and the keys, nothing is global."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trailkeeper.cursors import CursorCodec
from trailkeeper.deployment_key import DeploymentKey, DeploymentKeyMismatch, load_deployment_key
from trailkeeper.events.batch import drafts_from_body, drafts_from_events
from trailkeeper.existing import require_deployment, require_schema
from trailkeeper.integrity import Signer
from trailkeeper.objectstores import open_object_store
from trailkeeper.ratelimit import RateLimiter
from trailkeeper.service.archive import DayArchiver
from trailkeeper.service.erasure import ErasureService
from trailkeeper.service.export_jobs import ExportRunner
from trailkeeper.service.exports import ExportService
from trailkeeper.service.integrity import IntegrityService
from trailkeeper.service.reading import ReadService
from trailkeeper.service.retention import RetentionService
from trailkeeper.service.sessions import SessionService
from trailkeeper.service.streams import StreamService
from trailkeeper.service.tenancy import TenancyService
from trailkeeper.settings import Settings
from trailkeeper.signing import load_signer
from trailkeeper.storage import Store, open_store
from trailkeeper.storage.protocols import Receipt
from trailkeeper.storage.tenants import Tenant
from trailkeeper.webhooks.dispatcher import WebhookDispatcher

__all__ = ["Trailkeeper"]


class Trailkeeper:
    def __init__(
        self, settings: Settings, store: Store, key: DeploymentKey, signer: Signer
    ) -> None:
        self.settings = settings
        self.store = store
        self.key = key
        self.integrity = IntegrityService(store, signer)
        self.tenancy = TenancyService(store, key)
        self.reads = ReadService(store, CursorCodec(key.derive(b"trailkeeper cursors v1")))
        self.limiter = RateLimiter(store)
        self.objects = open_object_store(settings, key)
        self.exports = ExportService(store, key, self.objects, settings)
        self.export_runner = ExportRunner(store, self.integrity, signer, self.objects, settings)
        self.webhooks = WebhookDispatcher(store, key, settings)
        self.streams = StreamService(store, key, settings)
        archiver = DayArchiver(
            store, self.integrity, signer, self.objects, settings.data_dir / "tmp"
        )
        self.retention = RetentionService(store, archiver, settings)
        self.erasures = ErasureService(store, settings.erasure_batch)
        self.sessions = SessionService(store, self.tenancy, key, settings.ui_session_ttl)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True, create: bool = True) -> Trailkeeper:
        """Load the key, open (and migrate) the store, and check that the key is the
        one this database was set up with: a process with another key would write
        secrets and cursors the others cannot read.

        ``create=False`` opens only a deployment that exists (keys, database, schema)
        and raises ``NoDeployment`` otherwise, having created nothing."""
        if not create:
            require_deployment(settings)
        key = load_deployment_key(settings)
        signer = load_signer(settings)
        store = open_store(settings)
        try:
            if not create:
                require_schema(settings, store.schema_version())
            if migrate:
                store.migrate()
            fingerprint = key.fingerprint()
            if store.claim("deployment_key_fingerprint", fingerprint) != fingerprint:
                raise DeploymentKeyMismatch(
                    "This process's deployment key differs from the one this database was "
                    "set up with. Give every process the same TRAILKEEPER_SECRET_KEY (or "
                    "the same secret.key file in its data dir)."
                )
        except BaseException:
            store.close()
            raise
        return cls(settings, store, key, signer)

    def ingest_body(self, tenant: Tenant, body: bytes) -> list[Receipt]:
        """Validate a request body and append it, all or nothing."""
        return self.store.append(tenant.id, drafts_from_body(body))

    def ingest_events(self, tenant: Tenant, events: Sequence[Any]) -> list[Receipt]:
        return self.store.append(tenant.id, drafts_from_events(list(events)))

    def close(self) -> None:
        self.export_runner.close()  # its reader thread holds a connection of the store
        self.retention.close()
        self.store.close()
