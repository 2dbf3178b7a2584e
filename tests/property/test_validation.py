"""Event validation (CONTRACT section 4) and timestamps, with Hypothesis.

Whatever a producer sends, ``drafts_from_body`` returns drafts or raises one of
the two client errors with well-formed details (never a 500); every event that
follows the rules is accepted and normalized the documented way."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import string
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from profiles import examples
from support import independent_leaf_hash
from trailkeeper.errors import InvalidEvent, InvalidRequest, TrailkeeperError
from trailkeeper.events.batch import MAX_EVENT_BYTES, drafts_from_body
from trailkeeper.events.model import InvalidField, occurred_at
from trailkeeper.events.record import Draft
from trailkeeper.events.timestamps import (
    format_timestamp,
    from_micros,
    parse_date_bound,
    parse_rfc3339,
    parse_rfc3339_text,
    to_micros,
)

PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
STORED_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
SAFE = 2**53 - 1
ACTOR_TYPES = ["user", "service_account", "system", "agent", "automation"]
SOURCES = ["web", "api", "mcp", "cli", "system", "automation"]
RECEIVED_AT = "2026-11-20T13:45:12.123456Z"
# Comfortably in the past whenever the suite runs (the 5-minute future limit is tested apart).
LATEST = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)

# -- JSON values ------------------------------------------------------------------------

chars = st.characters(codec="utf-8", exclude_characters="\x00")
small_text = st.text(chars, max_size=10)


def text(min_size: int = 0, max_size: int = 10) -> st.SearchStrategy[str]:
    return st.text(chars, min_size=min_size, max_size=max_size)


def json_values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(small_text, children, max_size=3)
        ),
        max_leaves=8,
    )


# Integral floats of magnitude 2**63 or more are refused on purpose: a JSON parser
# cannot tell them from integer literals it had to round (see check_exact_numbers).
exact_floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda f: abs(f) < 2.0**63 or not f.is_integer()
)
valid_json = json_values(
    st.none() | st.booleans() | st.integers(-SAFE, SAFE) | exact_floats | small_text
)
garbage_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([SAFE + 1, -SAFE - 1, 2**63, -(2**63) - 1, 2**64, -(2**64), 10**30])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=10)
    | st.sampled_from(["", "\x00", "card.moved", "2026-11-20T13:45:12Z", "user", "1.2.3.4"])
)
garbage = json_values(garbage_scalars)

# -- valid events -----------------------------------------------------------------------

ids = st.text(string.ascii_letters + string.digits + "._:-", min_size=1, max_size=128)
actions = st.from_regex(r"\A[a-z0-9_]{1,12}(\.[a-z0-9_]{1,12}){0,4}\Z")


@st.composite
def rfc3339(draw: st.DrawFn) -> tuple[str, datetime, int]:
    """(text with any offset and 0-9 fraction digits, the instant to the second, nanos)."""
    moment = draw(st.datetimes(datetime(1900, 1, 1), LATEST)).replace(microsecond=0)
    moment = moment.replace(tzinfo=UTC)
    minutes = draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    digits = draw(st.text("0123456789", max_size=9))
    local = moment + timedelta(minutes=minutes)
    if minutes == 0:
        offset = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00"]))
    else:
        sign = "+" if minutes > 0 else "-"
        offset = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    separator = draw(st.sampled_from("Tt"))
    fraction = f".{digits}" if digits else ""
    rendered = f"{local:%Y-%m-%d}{separator}{local:%H:%M:%S}{fraction}{offset}"
    nanos = int(digits.ljust(9, "0")) if digits else 0
    return rendered, moment, nanos


@st.composite
def ip_texts(draw: st.DrawFn) -> str:
    address = draw(st.ip_addresses())
    if address.version == 4:
        return str(address)
    form = draw(st.sampled_from(["compressed", "exploded", "upper"]))
    if form == "upper":
        return address.exploded.upper()
    return str(getattr(address, form))


ABSENT = object()


def optional(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A key that is absent (the marker), explicitly null, or set."""
    return st.just(ABSENT) | st.none() | values


def fields(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(strategies).map(
        lambda d: {k: v for k, v in d.items() if v is not ABSENT}
    )


actors = fields(
    id=text(1, 20),
    type=st.just(ABSENT) | st.sampled_from(ACTOR_TYPES),
    name=optional(text(0, 20)),
    email=optional(text(0, 20)),
)
resources = fields(type=text(1, 10), id=text(1, 20), name=optional(text(0, 20)))
changes = st.lists(
    fields(field=text(1, 10), old=st.just(ABSENT) | valid_json, new=st.just(ABSENT) | valid_json),
    max_size=3,
)
runs = fields(
    id=text(1, 10),
    flow=optional(text()),
    step=optional(text()),
    status=optional(text(0, 10)),
    input=optional(valid_json),
    output=optional(valid_json),
    error=optional(valid_json),
    duration_ms=optional(st.integers(0, SAFE)),
)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """``{"event": an event section 4 accepts, "when": its rfc3339() parts}``."""
    when = draw(rfc3339())
    event = draw(
        fields(
            id=st.just(ABSENT) | ids,
            action=actions,
            category=st.just(ABSENT) | st.none() | text(1, 64),
            actor=actors,
            resource=optional(resources),
            source=st.just(ABSENT) | st.sampled_from(SOURCES),
            ip=optional(ip_texts()),
            user_agent=optional(text(0, 40)),
            changes=optional(changes),
            run=optional(runs),
            metadata=optional(st.dictionaries(small_text, valid_json, max_size=4)),
        )
    )
    event["occurred_at"] = when[0]
    return {"event": event, "when": when}


# -- bodies that may be anything --------------------------------------------------------

EVENT_FIELDS = [
    "id", "action", "category", "occurred_at", "actor", "resource", "source",
    "ip", "user_agent", "changes", "run", "metadata",
]  # fmt: skip


@st.composite
def mangled_events(draw: st.DrawFn) -> Any:
    """A valid event with random fields (top level or nested) removed, retyped or added."""
    event = draw(valid_events())["event"]
    for _ in range(draw(st.integers(1, 4))):
        target = event
        nested = [k for k, v in event.items() if isinstance(v, dict)]
        if nested and draw(st.booleans()):
            target = event[draw(st.sampled_from(nested))]
        known = st.sampled_from(sorted(target)) if target else st.sampled_from(EVENT_FIELDS)
        key = draw(known | st.sampled_from(EVENT_FIELDS) | small_text)
        action = draw(st.sampled_from(["delete", "replace", "replace"]))
        if action == "delete":
            target.pop(key, None)
        else:
            target[key] = draw(garbage)
    return event


event_like = mangled_events() | st.dictionaries(
    st.sampled_from(EVENT_FIELDS) | small_text, garbage, max_size=8
)
payloads = (
    event_like
    | st.fixed_dictionaries({"events": st.lists(event_like, max_size=4)})
    | st.fixed_dictionaries(
        {"events": garbage | st.lists(garbage, max_size=3)}, optional={"extra": garbage}
    )
    | garbage
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "json", "json", "truncated", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    # stdlib json writes integers of any size, as a producer's encoder might
    encoded = json.dumps(draw(payloads), ensure_ascii=draw(st.booleans())).encode()
    if kind == "truncated":
        cut = draw(st.integers(0, len(encoded)))
        return encoded[:cut] + draw(st.binary(max_size=3))
    return encoded


def check_error(exc: TrailkeeperError) -> None:
    assert isinstance(exc.message, str)
    assert exc.message
    for detail in exc.details:
        assert type(detail.get("index")) is int, detail
        assert detail["index"] >= 0, detail
        assert isinstance(detail.get("field"), str), detail
        assert isinstance(detail.get("message"), str), detail
        assert detail["message"], detail


@pytest.mark.slow  # seconds of Hypothesis examples: the full run, not --quick
@settings(PROPERTY, max_examples=examples(300))
@given(bodies())
@example(b"")
@example(b"[]")
@example(b'{"events": []}')
@example(b'{"events": {}}')
@example(b'{"events": [1, "x", null]}')
@example(b'{"action": "a", "occurred_at": "2026-11-20T13:45:12Z", "actor": {"id": "u"}, "x": 1}')
@example(b'{"action": "a", "occurred_at": 1, "actor": {"id": "u"}, "metadata": {"n": 1e400}}')
@example(
    b'{"action": "a", "occurred_at": "2026-11-20T13:45:12Z", "actor": {"id": "u"}, '
    b'"metadata": {"n": 9007199254740993, "f": 0.5}}'
)
def test_any_body_gives_drafts_or_a_client_error(body: bytes) -> None:
    try:
        drafts = drafts_from_body(body)
    except (InvalidEvent, InvalidRequest) as exc:
        check_error(exc)
        return
    assert drafts
    for draft in drafts:
        assert isinstance(draft, Draft)
        assert STORED_TIMESTAMP.match(draft.view["occurred_at"])
        # the leaf hash of an accepted event can always be computed (no late 500)
        assert len(draft.sequenced(0, RECEIVED_AT)["leaf_hash"]) == 64


def independent_pii(salt: str, expected: dict[str, Any]) -> str:
    """CONTRACT section 8, from the text and the reference JCS package: a commitment
    to the stored (normalized) personal data."""
    personal = {
        "email": expected["actor"]["email"],
        "ip": expected["ip"],
        "name": expected["actor"]["name"],
        "user_agent": expected["user_agent"],
    }
    present = {k: v for k, v in personal.items() if v is not None}
    return hashlib.sha256(bytes.fromhex(salt) + rfc8785.dumps(present)).hexdigest()


def expected_view(event: dict[str, Any]) -> dict[str, Any]:
    """The normalized view as section 4 describes it (``id``, ``occurred_at`` aside)."""
    actor = event["actor"]
    resource = event.get("resource")
    run = event.get("run")
    ip = event.get("ip")
    return {
        "action": event["action"],
        "category": event.get("category") or event["action"].split(".")[0],
        "actor": {
            "id": actor["id"],
            "type": actor.get("type", "user"),
            "name": actor.get("name"),
            "email": actor.get("email"),
        },
        "resource": None
        if resource is None
        else {"type": resource["type"], "id": resource["id"], "name": resource.get("name")},
        "source": event.get("source", "api"),
        "ip": None if ip is None else str(ipaddress.ip_address(ip)),
        "user_agent": event.get("user_agent"),
        "changes": None
        if event.get("changes") is None
        else [
            {"field": c["field"], "old": c.get("old"), "new": c.get("new")}
            for c in event["changes"]
        ],
        "run": None if run is None else {k: v for k, v in run.items() if v is not None},
        "metadata": event.get("metadata"),
    }


@settings(PROPERTY, max_examples=examples(250))
@given(valid_events())
def test_valid_events_validate_and_normalize(generated: dict[str, Any]) -> None:
    event = generated["event"]
    rendered, moment, nanos = generated["when"]
    body = orjson.dumps(event)
    assume(len(body) <= MAX_EVENT_BYTES)
    [draft] = drafts_from_body(body)
    view = draft.view

    if "id" in event:
        assert view["id"] == event["id"]
    else:
        assert UUID7.fullmatch(view["id"]), view["id"]
    assert {k: view[k] for k in expected_view(event)} == expected_view(event)

    stored = view["occurred_at"]
    assert STORED_TIMESTAMP.match(stored), stored
    exact_nanos = to_micros(moment) * 1000 + nanos
    stored_nanos = to_micros(parse_rfc3339(stored)) * 1000
    assert abs(stored_nanos - exact_nanos) < 1000, (rendered, stored)
    if nanos % 1000 == 0:  # representable in microseconds: the very same instant
        assert parse_rfc3339(stored) == moment + timedelta(microseconds=nanos // 1000)
    assert draft.occurred_at == parse_rfc3339(stored)

    assert re.fullmatch(r"[0-9a-f]{64}", view["pii"])
    assert re.fullmatch(r"[0-9a-f]{32}", draft.pii_salt)
    assert view["pii"] == independent_pii(draft.pii_salt, expected_view(event))
    sequenced = draft.sequenced(7, RECEIVED_AT)
    assert (sequenced["seq"], sequenced["received_at"]) == (7, RECEIVED_AT)

    # The normalized view is itself a valid event that normalizes to itself:
    # resending what the API returned is the same content (an idempotent retry).
    resent = {k: v for k, v in view.items() if k != "pii"}
    [again] = drafts_from_body(orjson.dumps(resent))
    assert {k: v for k, v in again.view.items() if k != "pii"} == resent
    assert again.content_hash == draft.content_hash


@pytest.mark.slow  # seconds of Hypothesis examples: the full run, not --quick
@settings(PROPERTY, max_examples=examples(400))
@given(
    valid_events(),
    st.integers(0, SAFE),
    st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31), timezones=st.just(UTC)),
)
def test_leaf_hash_joined_at_sequencing_is_rfc8785(
    generated: dict[str, Any], seq: int, received: datetime
) -> None:
    """The leaf is encoded before the event has a seq, in parts joined around
    ``received_at`` and ``seq`` (``leaf_parts``): the join is RFC 8785 of the whole."""
    body = orjson.dumps(generated["event"])
    assume(len(body) <= MAX_EVENT_BYTES)
    [draft] = drafts_from_body(body)
    received_at = format_timestamp(received)
    expected = independent_leaf_hash({**draft.view, "seq": seq, "received_at": received_at})
    assert draft.leaf_hash(seq, orjson.dumps(received_at)).hex() == expected
    assert draft.sequenced(seq, received_at)["leaf_hash"] == expected


@settings(PROPERTY, max_examples=examples(30))
@given(st.lists(valid_events(), min_size=1, max_size=5))
def test_valid_batches_keep_request_order(generated: list[dict[str, Any]]) -> None:
    events = [g["event"] for g in generated]
    for index, event in enumerate(events):
        event["id"] = f"evt-{index}"
    body = orjson.dumps({"events": events})
    assume(len(body) <= 5 * MAX_EVENT_BYTES)
    drafts = drafts_from_body(body)
    assert [d.id for d in drafts] == [e["id"] for e in events]
    assert len({d.pii_salt for d in drafts}) == len(drafts)


@settings(PROPERTY, max_examples=examples(30))
@given(
    st.lists(valid_events(), min_size=2, max_size=5),
    st.data(),
    st.timedeltas(timedelta(minutes=6), timedelta(days=3650)),
)
def test_one_bad_event_names_its_index(
    generated: list[dict[str, Any]], data: st.DataObject, ahead: timedelta
) -> None:
    """All or nothing: the batch fails, naming only the bad event's index and field."""
    events = [g["event"] for g in generated]
    bad = data.draw(st.integers(0, len(events) - 1))
    events[bad]["occurred_at"] = format_timestamp(datetime.now(UTC) + ahead)
    with pytest.raises(InvalidEvent) as raised:
        drafts_from_body(orjson.dumps({"events": events}))
    check_error(raised.value)
    assert {(d["index"], d["field"]) for d in raised.value.details} == {(bad, "occurred_at")}
    assert "future" in raised.value.details[0]["message"]


@pytest.mark.parametrize(
    "number", [-(2**63) - 1, -(10**19) + 1, -(2**64), 2**64, 10**19 * 5, SAFE + 1]
)
def test_integers_beyond_the_safe_range_are_refused(number: int) -> None:
    """A number that cannot be kept exactly is refused, never silently changed.

    orjson parses integers outside [-2**63, 2**64) as floats, so without a check
    ``-9223372036854775809`` would be stored as ``-9.223372036854776e18``."""
    event = {
        "action": "a",
        "occurred_at": "2026-11-20T13:45:12Z",
        "actor": {"id": "u"},
        "metadata": {"n": number},
    }
    body = json.dumps(event).encode()
    try:
        drafts = drafts_from_body(body)
    except InvalidEvent as exc:
        check_error(exc)
        return
    stored = drafts[0].view["metadata"]["n"]
    pytest.fail(
        f"src bug: the integer {number} was accepted and silently stored as {stored!r} "
        "(events/batch.py: _STRING_OR_HUGE_INT only looks for 20+ digit literals, but "
        "orjson already turns 19-digit integers below -2**63 into floats)"
    )


# -- timestamps -------------------------------------------------------------------------

offsets = st.timedeltas(-timedelta(hours=23, minutes=59), timedelta(hours=23, minutes=59))
aware = st.datetimes(
    datetime(2, 1, 1), datetime(9998, 12, 31), timezones=st.builds(timezone, offsets)
)


@settings(PROPERTY, max_examples=examples(300))
@given(aware)
@example(datetime(2026, 11, 20, 10, 45, 12, 500000, tzinfo=timezone(timedelta(hours=-3))))
@example(datetime(1970, 1, 1, tzinfo=UTC))
def test_formatted_timestamps_parse_back(moment: datetime) -> None:
    text = format_timestamp(moment)
    assert STORED_TIMESTAMP.match(text)
    assert parse_rfc3339(text) == moment
    assert parse_rfc3339(text).tzinfo == UTC
    assert parse_date_bound(text, end=True) == moment
    assert from_micros(to_micros(moment)) == moment


@settings(PROPERTY, max_examples=examples(200))
@given(aware, aware)
def test_formatted_timestamps_sort_as_strings(a: datetime, b: datetime) -> None:
    assert (format_timestamp(a) < format_timestamp(b)) == (a < b)


@settings(PROPERTY, max_examples=examples(200))
@given(st.dates())
@example(date(9999, 12, 31))
@example(date(2024, 2, 29))
def test_date_bounds_cover_the_whole_utc_day(day: date) -> None:
    start = parse_date_bound(day.isoformat(), end=False)
    end = parse_date_bound(day.isoformat(), end=True)
    assert start == datetime.combine(day, time.min, UTC)
    assert end == datetime.combine(day, time.max, UTC)
    assert end.microsecond == 999_999


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "2025-02-29", "0000-01-01"])
def test_impossible_dates_are_refused(text: str) -> None:
    for end in (False, True):
        with pytest.raises(ValueError, match="calendar date"):
            parse_date_bound(text, end=end)


@settings(PROPERTY, max_examples=examples(300))
@given(st.text(st.characters(codec="utf-8"), max_size=40) | rfc3339().map(lambda w: w[0]))
@example("2026-11-20T13:45:12")
@example("2026-11-20T13:45:12.123+0300")
@example("0001-01-01T00:00:00+00:01")
@example("9999-12-31T23:59:59-00:01")
def test_parse_rfc3339_returns_utc_or_value_error(text: str) -> None:
    try:
        parsed = parse_rfc3339(text)
    except ValueError as exc:
        message = str(exc)
    else:
        assert parsed.tzinfo == UTC
        return
    assert message.startswith(("must be", "is not")), message


minute_offsets = st.datetimes(
    datetime(1, 1, 2),
    datetime(9999, 12, 30),
    timezones=st.integers(-1439, 1439).map(lambda m: timezone(timedelta(minutes=m))),
)


@settings(PROPERTY, max_examples=500)
@given(rfc3339().map(lambda w: w[0]) | minute_offsets.map(datetime.isoformat))
@example("0001-01-01T00:00:00.1234567z")
@example("9999-12-31T23:59:59.999999-00:00")
@example("2026-11-20 13:45:12Z")
@example("2026-11-20T13:45:12+05:30")
def test_the_text_parsed_with_a_timestamp_is_format_timestamps(text: str) -> None:
    moment, stored = parse_rfc3339_text(text)
    assert moment == parse_rfc3339(text)
    assert stored == format_timestamp(moment)


def test_an_event_too_far_ahead_is_refused_right_after_one_that_was_not() -> None:
    """The horizon remembered from the clock never lets a later event through."""
    ahead = datetime.now(UTC) + timedelta(minutes=4, seconds=50)
    for seconds in (0, 1, 9, 11, 60):
        moment = ahead + timedelta(seconds=seconds)
        if seconds < 10:
            occurred_at(moment.isoformat())
        else:
            with pytest.raises(InvalidField, match="5 minutes in the future"):
                occurred_at(moment.isoformat())


@given(st.integers(min_value=-62135596800 * 10**6, max_value=253402300799999999))
def test_fast_micros_formatting_matches_datetime(micros: int) -> None:
    """The read path's fast formatter agrees with the datetime-based one."""
    from trailkeeper.events.timestamps import format_micros, format_timestamp, from_micros

    assert format_micros(micros) == format_timestamp(from_micros(micros))
