"""Which events a retention run removes, and where their archives go.

Retention works in whole UTC days of ``received_at``: with ``days = N``, a run on
day D removes the events received before D − N (00:00 UTC). An event therefore
stays between N and N + 1 days, and each archive file holds exactly one UTC day
of one tenant's log, at a key that depends on nothing else: a run that is
interrupted and started again writes the same file to the same place."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from trailkeeper.events.timestamps import from_micros, to_micros
from trailkeeper.objectstores.keys import check_key, encode_segment

__all__ = ["ARCHIVE_FOLDER", "archive_key", "cutoff", "day_end", "day_of"]

ARCHIVE_FOLDER = "_retention"  # encoded names never start with "_": no tenant collides


def cutoff(now: datetime, days: int) -> int:
    """Microseconds: events received before this are expired."""
    day = now.astimezone(UTC).date() - timedelta(days=days)
    return to_micros(datetime.combine(day, time(), tzinfo=UTC))


def day_of(received_micros: int) -> date:
    return from_micros(received_micros).date()


def day_end(day: date) -> int:
    """Microseconds of the midnight that ends ``day``."""
    return to_micros(datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC))


def archive_key(tenant: str, day: date) -> str:
    """``<tenant>/_retention/<YYYY>/<YYYY-MM-DD>.jsonl.gz`` (its manifest beside it)."""
    return check_key(
        f"{encode_segment(tenant)}/{ARCHIVE_FOLDER}/{day:%Y}/{day.isoformat()}.jsonl.gz"
    )
