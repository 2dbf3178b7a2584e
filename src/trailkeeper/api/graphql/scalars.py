"""Custom scalars: ``Long`` for counters past 2^31, and the scalar map the schema uses.

GraphQL's ``Int`` is 32-bit; a tenant's ``seq`` and an export's ``bytes`` outgrow it."""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

__all__ = ["SCALARS", "Long"]

Long = NewType("Long", int)


def _parse_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"Long must be an integer, not {type(value).__name__}")
    return value


SCALARS: dict[object, ScalarDefinition] = {
    Long: strawberry.scalar(
        name="Long",
        description="A 64-bit integer, sent as a JSON number",
        serialize=int,
        parse_value=_parse_long,
    ),
}
