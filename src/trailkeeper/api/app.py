"""The app factory: takes a built ``Trailkeeper`` service, never globals."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from trailkeeper import __version__, logredact
from trailkeeper.api import graphql
from trailkeeper.api.admission import InFlight
from trailkeeper.api.docs import install_docs
from trailkeeper.api.errors import install_error_handlers
from trailkeeper.api.ingestpath import INGEST_PATH, IngestShortcut
from trailkeeper.api.ingestq import IngestQueue
from trailkeeper.api.middleware import BodyLimit, ResponseHeaders
from trailkeeper.api.openapi import install_openapi
from trailkeeper.api.queryrules import strict_query
from trailkeeper.api.routes import (
    downloads,
    events,
    exports,
    integrity,
    ops,
    retention,
    streams,
    tokens,
    webhook_secret,
)
from trailkeeper.metrics import Metrics
from trailkeeper.service import Trailkeeper
from trailkeeper.ui import ui_mount

__all__ = ["create_app"]

DESCRIPTION = """
A self-hosted, verifiable audit log. Send events with `POST /v1/events`, read them with
`GET /v1/events`. Authenticate with `Authorization: Bearer tk_…` (use **Authorize** above).
Every error is `{"error": {"code", "message", "details"}}`.
"""


def create_app(service: Trailkeeper) -> FastAPI:
    app = FastAPI(
        title="trailkeeper",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(strict_query)],
        openapi_tags=[
            {"name": "events", "description": "Ingest and read audit events"},
            {"name": "integrity", "description": "Checkpoints, proofs, the verifier key"},
            {"name": "exports", "description": "Files of the log for long-term retention"},
            {"name": "streams", "description": "Streams of the log to SIEMs"},
            {"name": "tokens", "description": "API tokens of a tenant"},
            {"name": "webhooks", "description": "The tenant's webhook signing secret"},
            {"name": "retention", "description": "Retention policy, legal hold and erasure"},
            {"name": "graphql", "description": "The same reads and exports over GraphQL"},
            {"name": "operations", "description": "Health and metrics"},
        ],
    )
    logredact.install()  # every API process, --processes children included
    metrics = Metrics()
    app.state.trailkeeper = service
    app.state.metrics = metrics
    app.state.ingest_inflight = InFlight(service.settings.ingest_inflight_bytes)
    app.state.ingest_queue = IngestQueue(service)
    install_error_handlers(app)
    install_docs(app)
    install_openapi(app)
    routers = (
        events.router,
        integrity.router,
        tokens.router,
        webhook_secret.router,
        exports.router,
        streams.router,
        downloads.router,
        retention.router,
        graphql.router,
        ops.router,
    )
    for router in routers:
        app.include_router(router)
    api_routes = [*app.routes, *(route for router in routers for route in router.routes)]
    app.router.routes.append(ui_mount(service, api_routes))  # the UI at /, after the API
    ingest = next(
        route
        for route in events.router.routes
        if getattr(route, "path", None) == INGEST_PATH and "POST" in getattr(route, "methods", ())
    )
    app.add_middleware(IngestShortcut, api=app, route=ingest)  # inside the two below
    app.add_middleware(BodyLimit, limit=service.settings.max_body_bytes)
    app.add_middleware(ResponseHeaders, metrics=metrics)
    return app
