"""GraphQL at ``/graphql``: a thin layer over the services REST uses (CONTRACT
section 5 "GraphQL"). Register with ``app.include_router(router)``."""

from trailkeeper.api.graphql.router import router
from trailkeeper.api.graphql.schema import schema

__all__ = ["router", "schema"]
