"""``POST /graphql``: strawberry's FastAPI router with trailkeeper's rules.

No GraphiQL (its assets come from a CDN, and every asset must be served by
trailkeeper itself), no queries over GET, no websockets. Answers given before
GraphQL runs (401, 429, an unreadable body) carry both the REST envelope and a
GraphQL ``errors`` list."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from fastapi.routing import APIRoute, APIWebSocketRoute
from strawberry.fastapi import GraphQLRouter
from strawberry.types.unset import UNSET

from trailkeeper.api.graphql.body import decode_body
from trailkeeper.api.graphql.context import Context, get_context
from trailkeeper.api.graphql.errors import error_body
from trailkeeper.api.graphql.openapi import describe_graphql
from trailkeeper.api.graphql.schema import schema
from trailkeeper.api.responses import JSON
from trailkeeper.errors import InvalidRequest, TrailkeeperError

__all__ = ["TrailkeeperGraphQLRouter", "router"]


class _MethodNotAllowed(TrailkeeperError):
    status, code = 405, "method_not_allowed"


def _http_error(exc: HTTPException) -> TrailkeeperError:
    if exc.status_code == 405:
        return _MethodNotAllowed(
            "Send GraphQL requests as POST /graphql", headers={"Allow": "POST"}
        )
    if exc.status_code == 404:  # a GET without a query: GraphiQL, which is not served
        return _MethodNotAllowed(
            "GraphiQL is not served; send GraphQL requests as POST /graphql",
            headers={"Allow": "POST"},
        )
    return InvalidRequest(f"{exc.reason}; send POST /graphql with a JSON body {{query, variables}}")


def _answer(error: TrailkeeperError) -> JSON:
    return JSON(error_body(error), status_code=error.status, headers=error.headers)


class TrailkeeperGraphQLRouter(GraphQLRouter[Context, None]):
    def decode_json(self, data: str | bytes) -> object:
        """Bounded before parsing; an object or a batch (anything else would be a 500)."""
        return decode_body(data.encode() if isinstance(data, str) else data)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if isinstance(context, Context) and context.failure is not None:
            return _answer(context.failure)
        try:
            return await super().run(request, context, root_value)
        except HTTPException as exc:
            return _answer(_http_error(exc))
        except TrailkeeperError as exc:  # from decode_json
            return _answer(exc)


def _router() -> TrailkeeperGraphQLRouter:
    built = TrailkeeperGraphQLRouter(
        schema,
        path="/graphql",
        graphql_ide=None,
        allow_queries_via_get=False,
        context_getter=get_context,
        subscription_protocols=(),
        tags=["graphql"],
    )
    built.routes = [r for r in built.routes if not isinstance(r, APIWebSocketRoute)]
    post = next(r for r in built.routes if isinstance(r, APIRoute) and "POST" in (r.methods or ()))
    built.routes.remove(post)
    built.add_api_route("/graphql", post.endpoint, methods=["POST"], **describe_graphql())
    return built


router = _router()
