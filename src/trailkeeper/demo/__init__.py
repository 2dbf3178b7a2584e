"""Realistic demo audit events for ``trailkeeper serve --demo``.

A first start should show a feed worth exploring: a Pipefy-like workflow product with a team of
people, a few integrations, an AI agent and some automations moving cards, changing
configuration, logging in, calling the API and running workflows over the last 90 days.

The events are plain dicts in the ingest format (CONTRACT section 4). Everything is derived from
``random.Random(seed)`` and ``now``, so a demo is reproducible in tests and screenshots.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from trailkeeper.demo.cards import Cards
from trailkeeper.demo.cast import Episode, Event
from trailkeeper.demo.people import People
from trailkeeper.demo.runs import Runs
from trailkeeper.demo.story import as_utc, episode_starts

__all__ = ["demo_events"]


class _Demo(Cards, People, Runs):
    """Builds episodes (one event, or a few that belong together) in time order, each family
    of episodes as often as its weight says."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        families: dict[Callable[[datetime], Episode], float] = {
            self.card_activity: 30,
            self.api_request: 14,
            self.authentication: 12,
            self.workflow_run: 2.5,
            self.configuration: 6,
            self.agent_activity: 4,
            self.table_record: 3,
            self.access: 1.5,
            self.api_tokens: 1.5,
            self.export: 1.5,
        }
        self.builders, self.weights = list(families), list(families.values())

    def episode(self, at: datetime, room: int) -> Episode:
        """One episode starting at ``at``; a single card event when a longer one has no room."""
        events = self.rng.choices(self.builders, self.weights)[0](at)
        return events if len(events) <= room else self.card_activity(at)


def demo_events(now: datetime, count: int = 2000, seed: int = 7) -> list[dict[str, Any]]:
    """Exactly ``count`` demo events from the 90 days before ``now``, oldest first.

    Ids are ``demo-00001``… in time order; being stable, they make loading the same demo (same
    ``now`` and ``seed``) twice a no-op at ingest.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    rng = random.Random(seed)
    demo = _Demo(rng)
    starts = episode_starts(rng, as_utc(now), count)
    events: list[Event] = []
    # A multi-event episode uses up the start times of the slots it fills, so the episodes keep
    # the spread of ``starts`` and the total comes out exact.
    while len(events) < count:
        events.extend(demo.episode(starts[len(events)], room=count - len(events)))
    events.sort(key=lambda event: str(event["occurred_at"]))
    return [{"id": f"demo-{n:05d}", **event} for n, event in enumerate(events, start=1)]
