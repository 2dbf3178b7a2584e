"""The JSON body of ``POST /graphql``, bounded before it is parsed.

A GraphQL request is a small document and a few variables, so its body gets a
limit far below ingest's: at most ``MAX_BODY_BYTES``, and at most
``MAX_CONTAINERS`` objects and arrays (counted as bracket bytes, an upper
bound, before parsing), nested at most ``MAX_DEPTH`` deep. A 10 MiB body of
tiny nested objects is refused without building a single one of them."""

from __future__ import annotations

import orjson

from trailkeeper.errors import InvalidRequest, PayloadTooLarge

__all__ = ["MAX_BODY_BYTES", "MAX_CONTAINERS", "MAX_DEPTH", "decode_body"]

MAX_BODY_BYTES = 1024 * 1024
MAX_CONTAINERS = 10_000
MAX_DEPTH = 32
_MEMBERS: dict[str, type] = {
    "query": str, "variables": dict, "operationName": str, "extensions": dict,
}  # fmt: skip


def _depth(value: object, limit: int) -> int:
    """Nesting depth of decoded JSON, level by level, stopping once past ``limit``."""
    depth = 0
    level = [value]
    while depth <= limit:
        containers = [item for item in level if isinstance(item, dict | list)]
        if not containers:
            break
        depth += 1
        level = [
            child
            for container in containers
            for child in (container.values() if isinstance(container, dict) else container)
        ]
    return depth


def decode_body(data: bytes) -> object:
    """The decoded body, or a 413/400 that says which bound it broke."""
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"A GraphQL request body is at most {MAX_BODY_BYTES // 1024:,} KiB "
            f"(this one has {len(data):,} bytes); send large filters as several requests"
        )
    containers = data.count(b"{") + data.count(b"[")
    if containers > MAX_CONTAINERS:
        raise InvalidRequest(
            f"A GraphQL request body holds at most {MAX_CONTAINERS:,} JSON objects and "
            f"arrays (this one has up to {containers:,} brackets)"
        )
    try:
        decoded = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth" in exc.msg:
            raise InvalidRequest(_too_deep()) from None
        raise InvalidRequest(
            f"The body is not valid JSON ({exc.msg} at byte {exc.pos}); send POST /graphql "
            "with a JSON body {query, variables}"
        ) from None
    if not isinstance(decoded, dict):
        raise InvalidRequest("The body must be a JSON object {query, variables}")
    if _depth(decoded, MAX_DEPTH) > MAX_DEPTH:
        raise InvalidRequest(_too_deep())
    _check_members(decoded)
    return decoded


def _check_members(body: dict[str, object]) -> None:
    """GraphQL over HTTP's members, each of its type (the OpenAPI description says so)."""
    unknown = sorted(set(body) - set(_MEMBERS))
    if unknown:
        raise InvalidRequest(
            f"Unknown member {unknown[0][:64]!r} in the GraphQL request; send {', '.join(_MEMBERS)}"
        )
    for name, kind in _MEMBERS.items():
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            expected = "a string" if kind is str else "an object"
            raise InvalidRequest(f"'{name}' must be {expected} or null")


def _too_deep() -> str:
    return f"The GraphQL request body nests JSON more than {MAX_DEPTH} levels deep"
