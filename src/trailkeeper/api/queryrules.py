"""One rule for query strings on every route, read from the route's own declarations.

A parameter the route does not declare is a 400 that names it; a parameter
declared with a single value (``limit``, ``order``, ``cursor``, …) given twice
is a 400 too, instead of the framework's silent "last one wins". Installed once
as an app-wide dependency, so routes added later follow it without a line of
their own."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from fastapi.dependencies.models import Dependant
from starlette.requests import Request

from trailkeeper.errors import InvalidRequest

__all__ = ["declared_query", "strict_query"]

_SEQUENCES = (list, tuple, set, frozenset)
# GraphQL over HTTP has its own query parameters (query, variables, …), and its
# router answers them in GraphQL's shape ("send POST /graphql").
_OWN_RULES = frozenset({"/graphql"})


def _repeatable(annotation: Any) -> bool:
    """``list[str]`` or ``list[str] | None``: the parameter may be given many times."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_repeatable(arg) for arg in get_args(annotation))
    return origin in _SEQUENCES or annotation in _SEQUENCES


def _collect(dependant: Dependant, into: dict[str, bool]) -> None:
    for param in dependant.query_params:
        into[param.alias] = _repeatable(param.field_info.annotation)
    for sub in dependant.dependencies:
        _collect(sub, into)


def declared_query(dependant: Dependant) -> dict[str, bool]:
    """The route's query parameters, each with whether it may repeat (a short walk)."""
    names: dict[str, bool] = {}
    _collect(dependant, names)
    return names


async def strict_query(request: Request) -> None:
    """Refuse unknown and repeated single-valued query parameters with a 400 (``async``:
    it only reads the request, so it runs on the event loop, not in a worker thread)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not request.query_params or getattr(route, "path", "") in _OWN_RULES:
        return
    declared = declared_query(dependant)
    counts: dict[str, int] = {}
    for key, _ in request.query_params.multi_items():
        counts[key] = counts.get(key, 0) + 1
    unknown = [key for key in counts if key not in declared]
    if unknown:
        names = ", ".join(repr(key[:64]) for key in unknown[:10])
        known = ", ".join(sorted(declared)) or "none"
        raise InvalidRequest(
            f"Unknown query parameter {names} for {request.method} {request.url.path}; "
            f"known: {known}",
            [
                {"field": key[:64], "message": "is not a parameter of this endpoint"}
                for key in unknown[:10]
            ],
        )
    repeated = [key for key, count in counts.items() if count > 1 and not declared[key]]
    if repeated:
        raise InvalidRequest(
            f"'{repeated[0]}' may be given only once",
            [{"field": key, "message": "may be given only once"} for key in repeated],
        )
