"""The JSON Schema of ``POST /v1/streams``: one variant per destination type.

Each variant pins ``type`` and carries that type's own config schema, so a
client generated from the OpenAPI description knows every setting of every
destination, and ``cef`` is offered for syslog only, as ``parse_request`` says."""

from __future__ import annotations

import copy
from typing import Any

from trailkeeper.streams.config import CONFIGS, FORMATS, StreamRequest

__all__ = ["stream_request_schema"]


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its ``$defs`` references replaced by the definitions."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return resolve(copy.deepcopy(definitions[reference.removeprefix("#/$defs/")]))
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


_NO_NUL = "^[^\\u0000]*$"


def _without_nul(node: Any) -> Any:
    """Every string in the schema says it holds no NUL, as ``parse_request`` refuses it: a
    pattern of its own that excludes characters gets NUL added to them."""
    if isinstance(node, list):
        return [_without_nul(item) for item in node]
    if not isinstance(node, dict):
        return node
    refined = {key: _without_nul(value) for key, value in node.items()}
    if refined.get("type") == "string" and not {"enum", "const"} & refined.keys():
        pattern = refined.get("pattern")
        if pattern is None:
            refined["pattern"] = _NO_NUL
        elif pattern.startswith("^[^"):
            refined["pattern"] = "^[^\\u0000" + pattern.removeprefix("^[^")
    return refined


def stream_request_schema() -> dict[str, Any]:
    """``oneOf`` the variants; each is the request with its type and config fixed."""
    base = _inline(StreamRequest.model_json_schema())
    variants = []
    for kind, model in CONFIGS.items():
        variant = copy.deepcopy(base)
        variant["title"] = f"StreamRequest ({kind})"
        properties = variant["properties"]
        properties["type"] = {"type": "string", "const": kind}
        formats = [f for f in FORMATS if f != "cef" or kind == "syslog"]
        properties["format"] = {"type": "string", "enum": formats, "default": "native"}
        properties["config"] = _inline(model.model_json_schema())
        variants.append(variant)
    return {"oneOf": _without_nul(variants), "title": "StreamRequest"}
