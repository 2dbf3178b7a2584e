"""A tenant's retention policy and the validation of a change to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from trailkeeper.errors import InvalidRequest

__all__ = ["MAX_DAYS", "Policy", "parse_policy_update"]

MAX_DAYS = 36_500  # a hundred years: anything longer is a typo, and "forever" is null
_FIELDS = ("days", "archive", "legal_hold")


@dataclass(frozen=True, slots=True)
class Policy:
    """``days`` None keeps events forever; ``inherited`` is True when the tenant has
    not set a policy and the deployment's default applies."""

    days: int | None
    archive: bool = True
    legal_hold: bool = False
    inherited: bool = False

    def view(self) -> dict[str, Any]:
        return {"days": self.days, "archive": self.archive, "legal_hold": self.legal_hold}


def parse_policy_update(body: Any, current: Policy, min_days: int) -> Policy:
    """The policy after a ``PUT /v1/retention`` body; fields left out keep their
    current value. Every problem is reported at once as ``invalid_request``."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("The body must be a JSON object like "
                             '{"days": 180, "archive": true, "legal_hold": false}')  # fmt: skip
    problems = [
        {"field": str(key)[:64], "message": f"unknown field; known: {', '.join(_FIELDS)}"}
        for key in body
        if key not in _FIELDS
    ]
    days = body.get("days", current.days)
    if "days" in body:
        message = _days_problem(days, min_days)
        if message is not None:
            problems.append({"field": "days", "message": message})
    for flag in ("archive", "legal_hold"):
        if flag in body and not isinstance(body[flag], bool):
            problems.append({"field": flag, "message": "must be true or false"})
    if problems:
        summary = "; ".join(f"{p['field']} {p['message']}" for p in problems)
        raise InvalidRequest(f"The retention policy is not valid: {summary}", details=problems)
    return replace(
        current,
        days=days,
        archive=body.get("archive", current.archive),
        legal_hold=body.get("legal_hold", current.legal_hold),
        inherited=False,
    )


def _days_problem(days: Any, min_days: int) -> str | None:
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int):
        return "must be a whole number of days, or null to keep events forever"
    if days < min_days:
        return (
            f"must be at least {min_days} (this deployment's minimum, "
            "--min-retention-days), or null to keep events forever"
        )
    if days > MAX_DAYS:
        return f"must be at most {MAX_DAYS} (100 years); use null to keep events forever"
    return None
