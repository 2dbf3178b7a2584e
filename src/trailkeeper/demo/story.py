"""What every episode of the demo is made with: the generator's state (open cards,
disabled automations, roles, live tokens), the event in the ingest format, and the time and
change helpers."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from trailkeeper.demo.cast import (
    ADMINS,
    CATEGORIES,
    CLI_AGENT,
    LATEST_START,
    PIPES,
    TEAM_UTC_OFFSET,
    USERS,
    WINDOW,
    Actor,
    Event,
    Pipe,
    Resource,
)


def rfc3339(at: datetime) -> str:
    """The stored form: UTC, microseconds, ``Z`` (so string order is time order)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_utc(now: datetime) -> datetime:
    """A naive ``now`` is taken to be UTC rather than local time."""
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _activity(at: datetime) -> float:
    """How busy the team is at ``at``: office hours on weekdays, a trickle at night and weekends."""
    local = at + TEAM_UTC_OFFSET
    day = 1.0 if local.weekday() < 5 else 0.12
    if 9 <= local.hour < 18:
        hour = 1.0
    elif 7 <= local.hour < 21:
        hour = 0.35
    else:
        hour = 0.06
    return day * hour


def episode_starts(rng: random.Random, now: datetime, n: int) -> list[datetime]:
    """``n`` sorted start times in the window, drawn by rejection so they follow ``_activity``."""
    earliest = now - WINDOW
    span = (WINDOW - LATEST_START).total_seconds()
    starts: list[datetime] = []
    while len(starts) < n:
        at = earliest + timedelta(seconds=rng.uniform(0, span))
        if rng.random() < _activity(at):
            starts.append(at)
    starts.sort()
    return starts


def two_values(rng: random.Random, values: tuple[Any, ...]) -> tuple[Any, Any]:
    old, new = rng.sample(values, 2)
    return old, new


def change(name: str, old: Any, new: Any) -> list[dict[str, Any]]:
    return [{"field": name, "old": old, "new": new}]


@dataclass
class Card:
    title: str
    phase: int


class Story:
    """Builds episodes (one event, or a few that belong together) in time order.

    It keeps a little state — open cards and their phases, disabled automations, members' roles,
    live API tokens — so that, read in order, the events tell a consistent story.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.cards: dict[str, dict[str, Card]] = {pipe.resource.id: {} for pipe in PIPES}
        self.next_card = 1_024_301_000
        self.disabled: set[str] = set()
        self.roles = {user.id: user.role for user in USERS}
        self.tokens: list[tuple[str, str]] = [("tok_5f2a91c0", "Legacy Zapier integration")]

    # -- event assembly ---------------------------------------------------------------------

    def event(
        self,
        at: datetime,
        action: str,
        actor: Actor,
        resource: Resource | None = None,
        *,
        changes: list[dict[str, Any]] | None = None,
        run: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> Event:
        """One event in the ingest format; optional parts are left out rather than null."""
        source, ip, user_agent = actor.source, ip or actor.ip, user_agent or actor.user_agent
        if actor.type == "user" and self.rng.random() < 0.03:
            source, user_agent = "cli", CLI_AGENT
        event: Event = {
            "action": action,
            "category": CATEGORIES[action.split(".")[0]],
            "occurred_at": rfc3339(at),
            "actor": actor.as_json(),
            "resource": None if resource is None else resource.as_json(),
            "source": source,
            "ip": ip,
            "user_agent": user_agent,
            "changes": changes,
            "run": run,
            "metadata": metadata,
        }
        return {key: value for key, value in event.items() if value}

    def user(self) -> Actor:
        return self.rng.choices(USERS, [user.activity for user in USERS])[0]

    def admin(self) -> Actor:
        return self.rng.choice(ADMINS)

    def pipe(self) -> Pipe:
        return self.rng.choices(PIPES, [pipe.weight for pipe in PIPES])[0]
