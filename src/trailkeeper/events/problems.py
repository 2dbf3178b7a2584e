"""Every problem of an event that :func:`~trailkeeper.events.model.validate_event` refused.

msgspec stops at the first problem; a producer fixing a batch wants all of them, each
with its field. This walks the event against the Structs' own type information
(``msgspec.inspect``), so the constraints are declared once, in ``model.py``, and words
each problem as the API always has (``tests/property/test_event_model.py`` checks the
wording and the accept/reject decision against the earlier pydantic models)."""

from __future__ import annotations

import re
from typing import Any, get_args

import msgspec
from msgspec import inspect

from trailkeeper.events.model import (
    ActorType,
    EventIn,
    InvalidField,
    Source,
    canonical_ip,
    occurred_at,
)

__all__ = ["first_problem", "problems_of"]

Problem = dict[str, str]
_PATTERN_MESSAGES = {
    "action": "must be lowercase dotted words of a-z, 0-9 and _, e.g. card.moved",
    "id": "must be 1 to 128 of A-Z a-z 0-9 . _ : -",
}
# msgspec sorts a Literal's values; the message lists them as the model declares them
_DECLARED = {frozenset(get_args(kind)): get_args(kind) for kind in (ActorType, Source)}
_TYPE_NAMES = {
    inspect.StrType: "a valid string",
    inspect.IntType: "a valid integer",
    inspect.DictType: "a valid dictionary",
    inspect.ListType: "a valid list",
}


def problems_of(raw: dict[str, Any]) -> list[Problem]:
    """Each problem as ``{"field": "actor.id", "message": …}``, in the order of the fields."""
    info = inspect.type_info(EventIn)
    assert isinstance(info, inspect.StructType)
    found = _struct(raw, info, "")
    if not found:  # the Struct accepted it: the checks of model.validate_event remain
        for field, check in (("occurred_at", occurred_at), ("ip", canonical_ip)):
            try:
                check(raw.get(field))
            except InvalidField as exc:
                found.append({"field": field, "message": str(exc.args[1])})
    return found


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def _struct(value: Any, info: inspect.StructType, path: str) -> list[Problem]:
    if not isinstance(value, dict):
        name = info.cls.__name__
        return [
            {"field": path, "message": f"Input should be a valid dictionary or instance of {name}"}
        ]
    found: list[Problem] = []
    for field in info.fields:
        where = _join(path, field.name)
        if field.name not in value:
            if field.required:
                found.append({"field": where, "message": "is required"})
            continue
        if where == "occurred_at":  # checked by model.occurred_at, whatever its type
            try:
                occurred_at(value[field.name])
            except InvalidField as exc:
                found.append({"field": where, "message": str(exc.args[1])})
            continue
        found.extend(_value(value[field.name], field.type, where))
    names = {field.name for field in info.fields}
    found.extend(
        {"field": _join(path, key), "message": "is not a field of the event schema"}
        for key in value
        if key not in names
    )
    return found


def _value(value: Any, kind: inspect.Type, path: str) -> list[Problem]:
    if isinstance(kind, inspect.UnionType):  # X | None, the only unions of the model
        if value is None:
            return []
        (kind,) = [t for t in kind.types if not isinstance(t, inspect.NoneType)]
    if isinstance(kind, inspect.AnyType):
        return []
    if isinstance(kind, inspect.StructType):
        return _struct(value, kind, path)
    if isinstance(kind, inspect.LiteralType):
        if isinstance(value, str) and value in kind.values:
            return []
        *head, last = (f"'{v}'" for v in _DECLARED[frozenset(kind.values)])
        return [{"field": path, "message": f"Input should be {', '.join(head)} or {last}"}]
    if not _is(value, kind):
        return [{"field": path, "message": f"Input should be {_TYPE_NAMES[type(kind)]}"}]
    if isinstance(kind, inspect.ListType):
        found: list[Problem] = []
        for index, item in enumerate(value):
            found.extend(_value(item, kind.item_type, _join(path, index)))
        return found
    message = _constraint(value, kind, path)
    if message is None and path == "ip":
        try:
            canonical_ip(value)
        except InvalidField as exc:
            message = str(exc.args[1])
    return [] if message is None else [{"field": path, "message": message}]


def _is(value: Any, kind: inspect.Type) -> bool:
    if isinstance(kind, inspect.StrType):
        return isinstance(value, str)
    if isinstance(kind, inspect.IntType):
        return type(value) is int
    if isinstance(kind, inspect.DictType):
        return isinstance(value, dict)
    return isinstance(value, list)


def _constraint(value: Any, kind: inspect.Type, path: str) -> str | None:
    if isinstance(kind, inspect.IntType):
        return (
            None
            if kind.ge is None or value >= kind.ge
            else (f"Input should be greater than or equal to {kind.ge}")
        )
    if not isinstance(kind, inspect.StrType):
        return None
    if kind.min_length is not None and len(value) < kind.min_length:
        plural = "" if kind.min_length == 1 else "s"
        return f"String should have at least {kind.min_length} character{plural}"
    if kind.max_length is not None and len(value) > kind.max_length:
        return f"String should have at most {kind.max_length} characters"
    if kind.pattern is not None and re.search(kind.pattern, value) is None:
        return _PATTERN_MESSAGES.get(path, f"String should match pattern '{kind.pattern}'")
    return None


def first_problem(error: msgspec.ValidationError) -> list[Problem]:
    """msgspec's own wording, for an event this walk finds nothing wrong with (never
    expected: the property test holds the two to the same decisions)."""
    return [{"field": "", "message": str(error)}]
