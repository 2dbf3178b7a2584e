"""The UI's pure helpers: names, badges, times, old/new rows, local return paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trailkeeper.ui.security import safe_return_path
from trailkeeper.ui.views import (
    ChangeLine,
    badge,
    change_rows,
    destination,
    humanize,
    relative_time,
)


def test_actions_read_as_words() -> None:
    assert humanize("card.moved") == "Card moved"
    assert humanize("api_token.updated") == "Api token updated"


@pytest.mark.parametrize(
    ("source", "css"),
    [("web", "badge-web"), ("api", "badge-api"), ("mcp", "badge-mcp"), ("cli", "badge-other")],
)
def test_badges_by_source(source: str, css: str) -> None:
    assert badge(source) == css


def test_relative_times() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert relative_time("2026-11-20T11:57:00.000000Z", now) == "3 min ago"
    assert relative_time("2026-11-18T12:00:00.000000Z", now) == "2 d ago"
    assert relative_time("2026-11-20T12:00:30.000000Z", now) == "just now"
    assert relative_time("not a time", now) == "not a time"


def test_lists_are_diffed_line_by_line() -> None:
    (row,) = change_rows(
        [{"field": "abilities", "old": ["read", "write", "x"], "new": ["read", "deploy", "x", "y"]}]
    )
    assert row.lines == (
        ChangeLine("same", "read", "read"),
        ChangeLine("changed", "write", "deploy"),
        ChangeLine("same", "x", "x"),
        ChangeLine("added", "", "y"),
    )


def test_scalars_and_objects_as_text() -> None:
    rows = change_rows(
        [
            {"field": "phase", "old": "Backlog", "new": "Approved"},
            {"field": "limits", "old": None, "new": {"a": 1}},
            {"field": "n", "old": 1, "new": 2.5},
        ]
    )
    assert [(r.old, r.new, r.lines) for r in rows] == [
        ("Backlog", "Approved", ()),
        ("—", '{\n  "a": 1\n}', ()),
        ("1", "2.5", ()),
    ]
    assert change_rows("not a list") == []


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/?actor=u_1&action=card.*", "/?actor=u_1&action=card.*"),
        ("/integrity", "/integrity"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/signin?next=/x", "/"),
        ("/a b", "/"),
        (None, "/"),
    ],
)
def test_return_paths_stay_on_this_site(asked: str | None, goes: str) -> None:
    assert safe_return_path(asked) == goes


@pytest.mark.parametrize(
    ("kind", "config", "shown"),
    [
        (
            "webhook",
            {"url": "https://h.example/hooks/a?token=s3cret#x"},
            "https://h.example/hooks/a?…",
        ),
        ("webhook", {"url": "https://user:pw@h.example:8443/a"}, "https://h.example:8443/a"),
        ("webhook", {"url": "https://[2001:db8::1]:9/x"}, "https://[2001:db8::1]:9/x"),
        ("webhook", {"url": "not a url"}, "(not shown: not a URL)"),
        ("webhook", {"url": "https://h:99999/"}, "(not shown: not a URL)"),
        (
            "elasticsearch",
            {"url": "https://es.example:9200", "index": "audit", "username": "u"},
            "https://es.example:9200 · index audit",
        ),
        ("s3", {"bucket": "b1", "prefix": "p/"}, "s3://b1/p/"),
        (
            "s3",
            {"bucket": "b1", "prefix": "", "endpoint_url": "http://k:v@minio:9000"},
            "s3://b1/ at http://minio:9000",
        ),
        ("syslog", {"host": "10.0.0.5", "port": 6514, "protocol": "tls"}, "tls://10.0.0.5:6514"),
        (
            "azure_monitor",
            {"endpoint": "https://dce.example/?sig=x", "stream_name": "Custom-Audit"},
            "https://dce.example/?… · Custom-Audit",
        ),
    ],
)
def test_destinations_leave_credentials_out(
    kind: str, config: dict[str, object], shown: str
) -> None:
    assert destination(kind, config) == shown
    for secret in ("s3cret", "pw", "k:v", "sig="):
        assert secret not in shown
