"""The msgspec event model decides and words every problem as the pydantic models did.

``Reference`` below is the pydantic model ingest used before (kept here only as the
oracle). Hypothesis builds events field by field from values at and past each bound,
wrong types, odd Unicode, patterns with a final newline, nested garbage and timestamps
at the edges, and checks that both accept the same events, normalize them the same
way, and report the same problems (field path and message) for the rest."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from profiles import examples
from trailkeeper.events.model import InvalidField, validate_event
from trailkeeper.events.problems import problems_of
from trailkeeper.events.timestamps import parse_rfc3339

_STRICT = ConfigDict(extra="forbid", strict=True, str_min_length=0)


class ActorIn(BaseModel):
    model_config = _STRICT
    id: Annotated[str, Field(min_length=1, max_length=256)]
    type: Literal["user", "service_account", "system", "agent", "automation"] = "user"
    name: Annotated[str, Field(max_length=256)] | None = None
    email: Annotated[str, Field(max_length=320)] | None = None


class ResourceIn(BaseModel):
    model_config = _STRICT
    type: Annotated[str, Field(min_length=1, max_length=64)]
    id: Annotated[str, Field(min_length=1, max_length=256)]
    name: Annotated[str, Field(max_length=512)] | None = None


class ChangeIn(BaseModel):
    model_config = _STRICT
    field: Annotated[str, Field(min_length=1, max_length=256)]
    old: Any = None
    new: Any = None


class RunIn(BaseModel):
    model_config = _STRICT
    id: Annotated[str, Field(min_length=1, max_length=256)]
    flow: Annotated[str, Field(max_length=1024)] | None = None
    step: Annotated[str, Field(max_length=1024)] | None = None
    status: Annotated[str, Field(max_length=64)] | None = None
    input: Any = None
    output: Any = None
    error: Any = None
    duration_ms: Annotated[int, Field(ge=0)] | None = None


class Reference(BaseModel):
    model_config = _STRICT
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")] | None = None
    action: Annotated[
        str, Field(min_length=1, max_length=128, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
    ]
    category: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    occurred_at: datetime
    actor: ActorIn
    resource: ResourceIn | None = None
    source: Literal["web", "api", "mcp", "cli", "system", "automation"] = "api"
    ip: str | None = None
    user_agent: Annotated[str, Field(max_length=512)] | None = None
    changes: list[ChangeIn] | None = None
    run: RunIn | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _rfc3339(cls, value: Any) -> datetime:
        if not isinstance(value, str):
            raise ValueError("must be an RFC 3339 string with an offset")
        moment = parse_rfc3339(value)
        if moment > datetime.now(UTC) + timedelta(minutes=5):
            raise ValueError("is more than 5 minutes in the future; check the producer's clock")
        return moment

    @field_validator("ip")
    @classmethod
    def _ip_address(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(f"{value[:64]!r} is not a valid IPv4 or IPv6 address") from None


_FRIENDLY = {"extra_forbidden": "is not a field of the event schema", "missing": "is required"}
_PATTERNS = {
    "action": "must be lowercase dotted words of a-z, 0-9 and _, e.g. card.moved",
    "id": "must be 1 to 128 of A-Z a-z 0-9 . _ : -",
}


def reference_problems(raw: dict[str, Any]) -> list[dict[str, str]] | Reference:
    """What ingest answered before: the model, or its problems worded as batch.py did."""
    try:
        return Reference.model_validate(raw)
    except ValidationError as exc:
        found = []
        for error in exc.errors():
            field = ""
            for part in error["loc"]:
                field += (
                    f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
                )
            message = _FRIENDLY.get(error["type"]) or str(error["msg"]).removeprefix(
                "Value error, "
            )
            if error["type"] == "string_pattern_mismatch":
                message = _PATTERNS.get(field, message)
            found.append({"field": field, "message": message})
        return found


# -- generated events, field by field ------------------------------------------------

ABSENT = object()
odd = st.sampled_from(
    ["", "é", "\u0301", "\U0001f600", "\ufeff", "\u2028", "a\n", "\n", " ", "\x7f", "\ud7ff"]
)
garbage = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | odd,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=5,
)
unicode = st.characters(codec="utf-8", exclude_characters="\x00")


def texts(low: int, high: int, alphabet: st.SearchStrategy[str] = unicode) -> Any:
    """Strings at and just past each bound, and odd ones."""
    sizes = sorted({0, max(low - 1, 0), low, high, high + 1})
    return st.sampled_from(sizes).flatmap(lambda n: st.text(alphabet, min_size=n, max_size=n)) | odd


def wild(valid: Any) -> Any:
    """A member that may be absent, null, near-valid, or anything at all."""
    return st.just(ABSENT) | st.none() | valid | valid | garbage


def tame(valid: Any) -> Any:
    """A member that is absent, null or near-valid."""
    return st.just(ABSENT) | st.none() | valid


def record(extra: bool = True, **members: Any) -> Any:
    keys = st.sampled_from(["zz", "Id", "type", "extra"])
    extras = st.dictionaries(keys, garbage, max_size=1) if extra else st.just({})
    return st.tuples(st.fixed_dictionaries(members), extras).map(
        lambda pair: {**{k: v for k, v in pair[0].items() if v is not ABSENT}, **pair[1]}
    )


moments = st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.just(UTC))
offsets = st.sampled_from(["Z", "z", "+00:00", "-23:59", "+24:00", "", "Z\n", "+05:30"])
timestamps = (
    st.builds(
        lambda m, sep, frac, tail: m.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + frac + tail,
        moments,
        st.sampled_from("Tt "),
        st.sampled_from(["", ".1", ".123456789", "."]),
        offsets,
    )
    | st.just((datetime.now(UTC) + timedelta(minutes=4)).isoformat())
    | st.just((datetime.now(UTC) + timedelta(minutes=6)).isoformat())
)
ips = st.ip_addresses().map(str) | st.sampled_from(["1.2.3.4\n", "01.2.3.4", "::FFFF:1.2.3.4"])
actions = texts(1, 128, st.sampled_from("abz09_.")) | st.sampled_from(["a.b", "a..b", "a.b\n"])


def event_records(required: Any, optional: Any, extra: bool) -> Any:
    """Events whose required members come through ``required``, the others ``optional``."""
    return record(
        extra,
        id=optional(texts(1, 128, st.sampled_from("aZ9._:- /"))),
        action=required(actions),
        category=optional(texts(1, 64)),
        occurred_at=required(timestamps),
        actor=required(
            record(extra, id=texts(1, 256), type=optional(st.sampled_from(["user", "robot"])))
        ),
        resource=optional(
            record(
                extra, type=texts(1, 64), id=optional(texts(1, 256)), name=optional(texts(0, 512))
            )
        ),
        source=optional(st.sampled_from(["web", "api", "email", "API"])),
        ip=optional(ips),
        user_agent=optional(texts(0, 512)),
        changes=optional(st.lists(record(extra, field=texts(1, 256), old=optional(garbage)))),
        run=optional(
            record(
                extra,
                id=texts(1, 256),
                flow=optional(texts(0, 1024)),
                status=optional(texts(0, 64)),
                input=optional(garbage),
                duration_ms=optional(st.integers(-2, 2**53) | st.sampled_from([1.0, True])),
            )
        ),
        metadata=optional(st.dictionaries(st.text(max_size=3), garbage, max_size=2)),
    )


# anything at all, and events that are mostly right (so that both decisions are compared)
past = st.datetimes(datetime(1, 1, 2), datetime(2026, 1, 1), timezones=st.just(UTC))
mostly_right = st.tuples(
    event_records(lambda v: v, tame, extra=False), st.sampled_from(["card.moved", "a_1.b"]), past
).map(lambda t: {**t[0], "action": t[1], "occurred_at": t[2].isoformat()})
events = event_records(wild, wild, extra=True) | mostly_right


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_same_decisions_and_messages_as_the_pydantic_models(raw: dict[str, Any]) -> None:
    expected = reference_problems(raw)
    try:
        valid = validate_event(raw)
    except (InvalidField, Exception) as exc:
        if isinstance(exc, AssertionError):
            raise
        assert not isinstance(expected, Reference), f"refused a valid event: {exc}"  # noqa: PT017
        assert problems_of(raw) == expected
        return
    assert isinstance(expected, Reference), f"accepted an invalid event: {expected}"
    assert problems_of(raw) == []
    _assert_same_event(valid, expected)


def _assert_same_event(valid: Any, expected: Reference) -> None:
    assert valid.occurred_at == expected.occurred_at
    assert valid.ip == expected.ip
    event = valid.event
    assert (event.id, event.action, event.category, event.source) == (
        expected.id, expected.action, expected.category, expected.source,
    )  # fmt: skip
    assert (event.actor.id, event.actor.type) == (expected.actor.id, expected.actor.type)
    assert event.metadata == expected.metadata
    if expected.run is not None:
        assert event.run is not None
        assert event.run.duration_ms == expected.run.duration_ms


# valid events only (the mixed generator above finds them by chance): both accept each
# one and normalize it alike
plain = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"])


def maybe(valid: Any) -> Any:
    return st.just(ABSENT) | valid


valid_events = st.tuples(
    record(
        False,
        id=maybe(st.text(st.sampled_from("aZ9._:-"), min_size=1, max_size=128)),
        category=maybe(st.text(plain, min_size=1, max_size=64)),
        actor=record(False, id=st.text(plain, min_size=1, max_size=256),
                     type=maybe(st.sampled_from(["user", "agent", "system"]))),
        source=maybe(st.sampled_from(["web", "api", "mcp"])),
        ip=maybe(st.ip_addresses().map(str)),
        run=maybe(record(False, id=st.text(plain, min_size=1, max_size=256),
                         duration_ms=maybe(st.integers(0, 2**53)))),
        metadata=maybe(st.dictionaries(st.text(plain, max_size=3),
                                       st.integers() | st.text(plain, max_size=5), max_size=3)),
    ),
    st.sampled_from(["card.moved", "a_1.b", "trailkeeper.x9"]),
    past,
).map(lambda t: {**t[0], "action": t[1], "occurred_at": t[2].isoformat()})  # fmt: skip


@settings(max_examples=examples(100), deadline=None)
@given(valid_events)
def test_valid_events_are_accepted_alike(raw: dict[str, Any]) -> None:
    expected = reference_problems(raw)
    assert isinstance(expected, Reference), f"the oracle refused {raw}: {expected}"
    _assert_same_event(validate_event(raw), expected)
    assert problems_of(raw) == []


BASE = {"action": "a.b", "occurred_at": "2026-01-01T00:00:00Z", "actor": {"id": "u"}}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({**BASE, "action": "card.moved\n"}, "action"),
        ({**BASE, "id": "a\n"}, "id"),
    ],
)  # fmt: skip
def test_a_final_newline_does_not_pass_a_pattern(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(Exception):  # noqa: B017,PT011 (msgspec's ValidationError)
        validate_event(raw)
    assert [p["field"] for p in problems_of(raw)] == [field]
    assert re.search("must be", problems_of(raw)[0]["message"])
