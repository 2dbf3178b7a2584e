"""``trailkeeper ingest``'s pipeline: what worker processes make of a file is what this
process makes of it, and what the API's path (parse, ``drafts_from_events``, a row per
draft) makes of the same events; the one-pass sequencing is the event-by-event one.

Each event gets a fresh random ``pii`` salt wherever it is prepared, so two preparations
of one file differ in the salt, the ``pii`` commitment and the leaf bytes that hold it:
those are compared after putting a fixed salt's commitment in their place, and every
commitment is checked against its own salt and fields."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from profiles import examples
from support import make_event
from trailkeeper.errors import InvalidRequest, TrailkeeperError
from trailkeeper.events.batch import drafts_from_events
from trailkeeper.events.body import parse_json
from trailkeeper.events.record import pii_commitment
from trailkeeper.events.timestamps import format_timestamp, to_micros
from trailkeeper.service.bulkload import (
    BadBatch,
    BadLine,
    Chunk,
    Outcome,
    chunks,
    prepare,
    prepared,
)
from trailkeeper.storage.dictionaries import action_rows, actor_rows
from trailkeeper.storage.ready import OccurredForm, ReadyBatch
from trailkeeper.storage.rows import INSERT_COLUMNS, insert_rows
from trailkeeper.storage.sequencing import all_new, each_in_turn
from trailkeeper.workerpool import worker_pool

PROPERTY = settings(
    deadline=None,
    max_examples=examples(60),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TENANT = 7
_PII = INSERT_COLUMNS.index("pii")
_SALT = INSERT_COLUMNS.index("pii_salt")
_NAME, _EMAIL = INSERT_COLUMNS.index("actor_name"), INSERT_COLUMNS.index("actor_email")
_IP, _AGENT = INSERT_COLUMNS.index("ip"), INSERT_COLUMNS.index("user_agent")
FIXED_SALT = "00" * 16


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    executor = worker_pool(2, nice=5)
    yield executor
    executor.shutdown()


texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | texts
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with an id (drawn from a few, so that files repeat ids)."""
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 10**8)))
    event: dict[str, Any] = {
        "id": f"evt-{draw(st.integers(0, 30))}",
        "action": draw(st.sampled_from(["card.moved", "user.login", "a.b.c"])),
        "occurred_at": format_timestamp(moment),
        "actor": {"id": draw(st.sampled_from(["u_1", "u_2"]))},
    }
    for key, strategy in (
        ("name", texts), ("email", st.sampled_from(["a@example.com", "b@example.org"])),
    ):  # fmt: skip
        if draw(st.booleans()):
            event["actor"][key] = draw(strategy)
    optional = {
        "ip": st.sampled_from(["10.0.0.1", "2001:db8::1", "::ffff:1.2.3.4"]),
        "user_agent": texts,
        "metadata": st.dictionaries(texts, values, max_size=3),
        "resource": st.fixed_dictionaries({"type": st.just("pipe"), "id": texts.filter(bool)}),
        "changes": st.lists(st.fixed_dictionaries({"field": texts, "old": values, "new": values})),
        "run": st.fixed_dictionaries({"id": st.just("r1")}, optional={"step": texts}),
        "source": st.sampled_from(["web", "api", "cli"]),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            event[key] = draw(strategy)
    return event


def line_of(event: Any, draw: st.DrawFn) -> bytes:
    return json.dumps(event, ensure_ascii=draw(st.booleans())).encode()


@st.composite
def lines(draw: st.DrawFn) -> list[bytes]:
    """Mostly valid events, some blank lines; now and then an invalid event, a line that
    is not JSON or one with a key twice."""
    out = []
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(["event"] * 12 + ["blank", "invalid", "broken", "twice"]))
        if kind == "event":
            out.append(line_of(draw(valid_events()), draw))
        elif kind == "blank":
            out.append(draw(st.sampled_from([b"", b"  ", b"\t"])))
        elif kind == "invalid":
            event = draw(valid_events())
            del event[draw(st.sampled_from(["action", "actor", "occurred_at"]))]
            out.append(line_of(event, draw))
        elif kind == "broken":
            out.append(line_of(draw(valid_events()), draw)[: draw(st.integers(0, 30))])
        else:
            out.append(b'{"action": "a.b", "action": "a.c"}')
    return out


def write(path: Path, content: list[bytes], zipped: bool) -> Path:
    data = b"\n".join(content) + b"\n"
    path.write_bytes(gzip.compress(data) if zipped else data)
    return path


def reference(chunk: Chunk, form: OccurredForm) -> Outcome:
    """The chunk as the code before the pipeline made it: parse each line, then
    ``drafts_from_events``, then a row per draft."""
    parsed = []
    for number, line in zip(chunk.numbers, chunk.lines, strict=True):
        try:
            parsed.append(parse_json(line, "the line"))
        except InvalidRequest as exc:
            return BadLine(number, exc.message)
    try:
        drafts = drafts_from_events(parsed)
    except TrailkeeperError as exc:
        return BadBatch(exc.message, exc.details)
    occurred = to_micros if form == "micros" else (lambda moment: moment)
    actors = [d.view["actor"] for d in drafts]
    return ReadyBatch(
        TENANT,
        [d.id for d in drafts],
        [d.content_hash for d in drafts],
        [d.leaf for d in drafts],
        insert_rows(TENANT, drafts, [occurred(d.occurred_at) for d in drafts]),
        actor_rows(TENANT, ((a["id"], a["name"], a["email"]) for a in actors)),
        action_rows(TENANT, (d.view["action"] for d in drafts)),
    )


def unsalted(outcome: Outcome) -> Any:
    """The outcome with each event's salt and commitment replaced by a fixed salt's
    (after checking its commitment against its own salt)."""
    if not isinstance(outcome, ReadyBatch):
        return outcome
    rows, leaves = [], []
    for row, (head, middle, tail) in zip(outcome.rows, outcome.leaves, strict=True):
        pii = pii_commitment(
            row[_SALT], name=row[_NAME], email=row[_EMAIL], ip=row[_IP], user_agent=row[_AGENT]
        )
        assert row[_PII] == pii
        fixed = pii_commitment(
            FIXED_SALT, name=row[_NAME], email=row[_EMAIL], ip=row[_IP], user_agent=row[_AGENT]
        )
        assert head.count(f'"pii":"{pii}"'.encode()) == 1
        head = head.replace(f'"pii":"{pii}"'.encode(), f'"pii":"{fixed}"'.encode())
        rows.append([*row[:_PII], fixed, *row[_PII + 1 : _SALT], FIXED_SALT, *row[_SALT + 1 :]])
        leaves.append((head, middle, tail))
    return (outcome.tenant_id, outcome.ids, outcome.content_hashes, leaves, rows,
            outcome.actors, outcome.actions)  # fmt: skip


@PROPERTY
@given(content=lines(), size=st.integers(1, 7), zipped=st.booleans(), micros=st.booleans())
def test_workers_prepare_a_file_as_this_process_and_the_api_path_do(
    pool: ProcessPoolExecutor, tmp_path_factory: pytest.TempPathFactory,
    content: list[bytes], size: int, zipped: bool, micros: bool,
) -> None:  # fmt: skip
    path = write(tmp_path_factory.mktemp("file") / "events.jsonl", content, zipped)
    form: OccurredForm = "micros" if micros else "datetime"
    offsets: list[int] = []
    source = chunks(path, offsets.append, size)
    here = list(prepared(source, TENANT, form))
    there = list(prepared(chunks(path, lambda _: None, size), TENANT, form, (pool, 3)))
    assert offsets[-1] == path.stat().st_size
    expected = [line for line in content if line.strip()]
    assert [line.rstrip(b"\n") for chunk, _ in here for line in chunk.lines] == expected
    assert [c.numbers for c, _ in there] == [c.numbers for c, _ in here]
    assert all(len(c.lines) == size for c, _ in here[:-1])
    for (chunk, mine), (_, theirs) in zip(here, there, strict=True):
        assert unsalted(theirs) == unsalted(mine) == unsalted(reference(chunk, form))
        assert unsalted(prepare(TENANT, form, chunk)) == unsalted(mine)
        event(type(mine).__name__)


def test_a_file_that_stops_early_cancels_what_was_not_prepared(
    pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    """Closing the pipeline after its first chunk leaves nothing running or queued."""
    content = [orjson.dumps(make_event(i)) for i in range(50)]
    path = write(tmp_path / "events.jsonl", content, zipped=False)
    outcomes = prepared(chunks(path, lambda _: None, 2), TENANT, "micros", (pool, 10))
    chunk, outcome = next(outcomes)
    assert chunk.numbers == [1, 2]
    assert isinstance(outcome, ReadyBatch)
    outcomes.close()
    assert pool.submit(sum, [1, 2]).result(timeout=30) == 3


leaf_parts = st.tuples(st.binary(max_size=40), st.binary(max_size=8), st.binary(max_size=20))


@PROPERTY
@given(
    ids=st.lists(st.text(max_size=6), unique=True, max_size=30).flatmap(
        lambda ids: st.tuples(st.just(ids), st.lists(leaf_parts, min_size=len(ids),
                                                     max_size=len(ids)))
    ),
    next_seq=st.integers(0, 2**40),
    received=st.binary(max_size=30),
)  # fmt: skip
def test_one_pass_sequencing_is_event_by_event_sequencing(
    ids: tuple[list[str], list[tuple[bytes, bytes, bytes]]], next_seq: int, received: bytes
) -> None:
    names, leaves = ids
    batch = ReadyBatch(TENANT, names, [b"h"] * len(names), leaves, [], [], [])
    assert all_new(batch, next_seq, received) == each_in_turn(batch, {}, next_seq, received)
