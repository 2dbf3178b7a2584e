"""RFC 3339 parsing and the one output form: UTC, microseconds, ``Z``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from trailkeeper import speedups

__all__ = [
    "EPOCH",
    "format_micros",
    "format_timestamp",
    "from_micros",
    "parse_date_bound",
    "parse_rfc3339",
    "parse_rfc3339_text",
    "parse_rfc3339_text_python",
    "to_micros",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 date-time that carries an offset; return it in UTC.

    Raises ``ValueError`` with a message a producer can act on."""
    return parse_rfc3339_text(text)[0]


_UTC_OFFSETS = frozenset(("Z", "z", "+00:00", "-00:00"))
_native_rfc3339_utc = speedups.rfc3339_utc


def parse_rfc3339_text(text: str) -> tuple[datetime, str]:
    """:func:`parse_rfc3339`, and the instant as :func:`format_timestamp` writes it: for
    a UTC offset (what most producers send) from the digits sent, without formatting the
    datetime again (a property test checks the two agree).

    A valid date-time with a UTC offset is read by the C module where it is there; it
    declines everything else, which :func:`parse_rfc3339_text_python` answers."""
    if _native_rfc3339_utc is not None:
        answer = _native_rfc3339_utc(text)
        if answer is not None:
            return answer
    return parse_rfc3339_text_python(text)


def parse_rfc3339_text_python(text: str) -> tuple[datetime, str]:
    """:func:`parse_rfc3339_text` in Python: the reference for the C module's answers."""
    match = _RFC3339.fullmatch(text)  # not match(): "$" would allow a final "\n"
    if match is None:
        raise ValueError(
            "must be an RFC 3339 date-time with an offset, e.g. 2026-11-20T13:45:12.123Z"
        )
    day, clock, fraction, offset = match.groups()
    fraction = (fraction or "0")[:6].ljust(6, "0")
    utc = offset in _UTC_OFFSETS
    try:
        parsed = datetime.fromisoformat(f"{day}T{clock}.{fraction}{'+00:00' if utc else offset}")
        moment = parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"is not a valid date-time ({exc})") from None
    return moment, f"{day}T{clock}.{fraction}Z" if utc else format_timestamp(moment)


def parse_date_bound(text: str, *, end: bool) -> datetime:
    """A filter bound: RFC 3339, or ``YYYY-MM-DD`` meaning the whole UTC day.

    For ``end`` a date means the last microsecond of that day (inclusive)."""
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a real calendar date") from None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if not end:
            return start
        try:
            return start + timedelta(days=1) - timedelta(microseconds=1)
        except OverflowError:
            return datetime.max.replace(tzinfo=UTC)
    return parse_rfc3339(text)


def format_timestamp(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC: fixed width, so strings sort."""
    # isoformat (C) writes UTC's offset as "+00:00", and the year with four digits
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch: the integer form SQLite stores."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


_MICROS_PER_DAY = 86_400_000_000


@lru_cache(maxsize=8192)
def _day_prefix(days: int) -> str:
    day = EPOCH.date() + timedelta(days=days)
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}T"


def format_micros(micros: int) -> str:
    """``format_timestamp(from_micros(micros))`` without building a datetime: the
    read path formats two timestamps per row (a property test checks they agree)."""
    days, rest = divmod(micros, _MICROS_PER_DAY)
    seconds, fraction = divmod(rest, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_day_prefix(days)}{hours:02d}:{minutes:02d}:{seconds:02d}.{fraction:06d}Z"
