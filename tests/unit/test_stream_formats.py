"""The forms events take on their way out: OCSF API Activity, CEF escaping, RFC 5424
with octet counting, Splunk HEC envelopes, Elasticsearch bulk answers."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trailkeeper.events.view import EventView
from trailkeeper.streams.cef import cef_event, escape_extension, escape_header
from trailkeeper.streams.destinations.base import Batch
from trailkeeper.streams.destinations.elasticsearch import bulk_outcome
from trailkeeper.streams.destinations.syslog import frame, rfc5424
from trailkeeper.streams.formats import Item, format_events
from trailkeeper.streams.ocsf import OCSF_VERSION, activity_of, ocsf_event


def view(**fields: Any) -> EventView:
    event: EventView = {
        "id": "evt-1", "seq": 7, "action": "card.moved", "category": "card",
        "occurred_at": "2026-01-05T10:00:00.123000Z", "received_at": "2026-01-05T10:00:01.000000Z",
        "actor": {"id": "u_1", "type": "user", "name": "Ana", "email": "ana@example.com"},
        "resource": {"type": "pipe", "id": "p1", "name": "HR"}, "source": "web",
        "ip": "203.0.113.9", "user_agent": "Mozilla/5.0", "changes": None, "run": None,
        "metadata": {"card_id": "991"}, "pii": "ab", "leaf_hash": "cd",
    }  # fmt: skip
    return cast("EventView", {**event, **fields})


@pytest.mark.parametrize(
    ("action", "activity"),
    [
        ("card.created", 1),
        ("token.created", 1),
        ("report.downloaded", 2),
        ("card.moved", 3),
        ("pipe.settings.updated", 3),
        ("token.revoked", 4),
        ("card.deleted", 4),
        ("workflow.ran", 99),
        ("heartbeat", 99),
    ],
)
def test_ocsf_activity_from_the_verb(action: str, activity: int) -> None:
    assert activity_of(action) == activity
    assert ocsf_event(view(action=action))["type_uid"] == 600300 + activity


def test_ocsf_api_activity_fields() -> None:
    event = ocsf_event(view())
    assert event["class_uid"] == 6003
    assert event["category_uid"] == 6
    assert event["time"] == 1767607200123
    assert event["metadata"]["version"] == OCSF_VERSION
    assert event["metadata"]["product"]["name"] == "trailkeeper"
    assert event["metadata"]["uid"] == "evt-1"
    assert event["actor"]["user"] == {
        "uid": "u_1", "name": "Ana", "email_addr": "ana@example.com", "type_id": 1, "type": "User"
    }  # fmt: skip
    assert event["src_endpoint"] == {"ip": "203.0.113.9"}
    assert event["api"]["operation"] == "card.moved"
    assert event["resources"] == [{"type": "pipe", "id": "p1", "name": "HR"}]
    assert event["unmapped"]["metadata"] == {"card_id": "991"}
    failed = ocsf_event(view(run={"id": "r", "status": "failed"}, ip=None))
    assert (failed["status_id"], failed["src_endpoint"]) == (2, {"name": "web"})


def test_cef_escaping_rules() -> None:
    assert escape_header("a|b\\c") == "a\\|b\\\\c"
    assert escape_extension("a=b\\c\nd\re|f") == "a\\=b\\\\c\\nd\\re|f"
    line = cef_event(view(metadata={"k": "x=y"}, user_agent="A|B"))
    assert line.startswith("CEF:0|trailkeeper|trailkeeper|")
    assert "|card.moved|card.moved|3|rt=1767607200123 externalId=evt-1 act=card.moved" in line
    assert "requestClientApplication=A|B" in line
    assert 'cs6={"k":"x\\=y"}' in line
    assert "src=203.0.113.9" in line
    assert "c6a2=2001:db8::1" in cef_event(view(ip="2001:db8::1"))


@given(st.text())
def test_cef_extension_values_stay_on_one_line_and_unescape(text: str) -> None:
    escaped = escape_extension(text)
    assert "\n" not in escaped
    assert "\r" not in escaped
    unescaped, i = [], 0
    while i < len(escaped):
        if escaped[i] == "\\":
            unescaped.append({"n": "\n", "r": "\r"}.get(escaped[i + 1], escaped[i + 1]))
            i += 2
        else:
            unescaped.append(escaped[i])
            i += 1
    assert "".join(unescaped) == text.replace("\r\n", "\n")


def test_rfc5424_octet_counted() -> None:
    (item,) = format_events("native", [view(id='a"b]c\\d')])
    message = rfc5424(item, "str_1", "host one")
    framed = frame(message)
    length, _, rest = framed.partition(b" ")
    assert int(length) == len(rest) == len(message)
    assert message.startswith(
        b"<110>1 2026-01-05T10:00:00.123000Z host_one trailkeeper - card.moved "
    )
    assert (
        b'[trailkeeper@32473 id="a\\"b\\]c\\\\d" seq="7" stream="str_1"] \xef\xbb\xbf{' in message
    )
    assert json.loads(message.split(b"\xef\xbb\xbf", 1)[1])["seq"] == 7


def test_elasticsearch_bulk_answers() -> None:
    ok = {"errors": False, "items": [{"create": {"status": 201}}]}
    assert bulk_outcome(ok, [1]).kind == "accepted"
    stored = {"errors": True, "items": [{"create": {"status": 201}}, {"create": {"status": 409}}]}
    assert bulk_outcome(stored, [1, 2]).kind == "accepted"
    busy = {"errors": True, "items": [{"create": {"status": 429, "error": {"type": "x"}}}]}
    assert bulk_outcome(busy, [1]).kind == "retry"
    bad = {"errors": True, "items": [{"create": {"status": 400, "error": {"type": "mapper"}}}]}
    outcome = bulk_outcome(bad, [5])
    assert (outcome.kind, "seq 5" in outcome.message) == ("failing", True)


def test_batch_halves_keep_order() -> None:
    batch = Batch("s", [1, 2, 3], [b"a", b"b", b"c"])
    first, second = batch.halves()
    assert (first.seqs, second.seqs, second.pieces) == ([1], [2, 3], [b"b", b"c"])
    assert Item(1, "i", "a", 0, body="x").encoded == b"x"
