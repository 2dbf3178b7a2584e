"""The feed in a real browser: sign-in, live filters in the URL, reload, back/forward,
a row expanded in place, a run's timeline. Sign-in and the feed run on both databases."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from support import Api, make_event
from ui_browser import browser_context, sign_in

ROW = "tr.event"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
"""Storage does not matter past sign-in and the feed: one database is enough."""


def _actions(page: Page) -> list[str]:
    return page.locator(f"{ROW} a.expand").all_inner_texts()


def _users(page: Page) -> list[str]:
    return page.locator(f"{ROW} .who").all_inner_texts()


def _seed(api: Api) -> None:
    events = []
    for i in range(12):
        actor = {"id": f"u_{i % 3}", "name": f"User {i % 3}", "email": f"u{i % 3}@example.com"}
        action = ("card.moved", "card.created", "user.login")[i % 3 if i < 9 else 0]
        events.append(make_event(i, actor=actor, action=action, source=("web", "api")[i % 2]))
    api.ingest(*events)


def _pick(page: Page, picker: str, label: str) -> None:
    page.locator(f"details[data-picker={picker}] > summary").click()
    option = page.locator(f"details[data-picker={picker}] label.option", has_text=label)
    option.locator("input").check()
    page.locator(f"details[data-picker={picker}] > summary").click()


def test_sign_in_filter_reload_and_history(api: Api, tmp_path: Path) -> None:
    _seed(api)
    base = str(api.client.base_url)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        sign_in(page, base, api.token)
        expect(page.locator(ROW)).to_have_count(12 + 2)  # + token.created and ui.login (self-audit)
        _pick(page, "actor", "u1@example.com")
        page.wait_for_url(lambda url: "actor=u_1" in url)
        expect(page.locator(ROW)).to_have_count(4)
        assert set(_users(page)) == {"u1@example.com"}
        _pick(page, "action", "card.created")
        page.wait_for_url(lambda url: "action=card.created" in url)
        query = parse_qs(urlsplit(page.url).query)
        assert query == {"actor": ["u_1"], "action": ["card.created"]}
        expect(page.locator(ROW)).to_have_count(3)
        shown = (_users(page), _actions(page))
        api_rows = api.events(actor="u_1", action="card.created")
        assert [e["id"] for e in api_rows] == page.locator(ROW).evaluate_all(
            "rows => rows.map(r => r.dataset.id)"
        )
        page.reload()
        expect(page.locator(ROW)).to_have_count(3)
        assert (_users(page), _actions(page)) == shown
        page.go_back()
        page.wait_for_url(lambda url: "action=" not in url and "actor=u_1" in url)
        expect(page.locator(ROW)).to_have_count(4)
        expect(page.locator("details[data-picker=action] input:checked")).to_have_count(0)
        page.go_forward()
        page.wait_for_url(lambda url: "action=card.created" in url)
        expect(page.locator(ROW)).to_have_count(3)


@sqlite_only
def test_search_and_empty_state_with_clear_filters(api: Api, tmp_path: Path) -> None:
    _seed(api)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        sign_in(page, str(api.client.base_url), api.token)
        page.get_by_label("Search").fill("nobody-matches-this")
        page.wait_for_url(lambda url: "q=nobody-matches-this" in url)
        expect(page.get_by_text("No events match these filters.")).to_be_visible()
        page.locator(".empty a", has_text="Clear filters").click()
        page.wait_for_url(lambda url: urlsplit(url).query == "")
        expect(page.locator(ROW)).to_have_count(14)


@sqlite_only
def test_malformed_filters_show_the_api_message(api: Api, tmp_path: Path) -> None:
    api_error = api.get("/v1/events", params={"start": "yesterday-ish"}).json()["error"]
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        sign_in(page, str(api.client.base_url), api.token)
        response = page.goto(str(api.client.base_url) + "/?start=yesterday-ish")
        assert response is not None
        assert response.status == 400
        expect(page.locator("#filter-error")).to_have_text(api_error["message"])
        response = page.goto(str(api.client.base_url) + "/?cursor=forged")
        assert response is not None
        assert response.status == 400
        expect(page.locator("#filter-error")).to_contain_text("cursor")


@sqlite_only
def test_paging_with_the_cursor_appends_older_rows(api: Api, tmp_path: Path) -> None:
    api.ingest(*[make_event(i) for i in range(60)])
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        sign_in(page, str(api.client.base_url), api.token, "/?action=card.moved")
        expect(page.locator(ROW)).to_have_count(50)
        page.get_by_role("link", name="Older events →").click()
        expect(page.locator(ROW)).to_have_count(60)
        ids = page.locator(ROW).evaluate_all("rows => rows.map(r => r.dataset.id)")
        assert ids == [e["id"] for e in api.events(action="card.moved", limit=100)]
        expect(page.get_by_text("End of the log for these filters.")).to_be_visible()


@sqlite_only
def test_a_row_expands_in_place_with_old_and_new(api: Api, tmp_path: Path) -> None:
    changes = [
        {"field": "name", "old": "Deploy key", "new": "CI key"},
        {"field": "abilities", "old": ["read", "write"], "new": ["read", "deploy", "admin"]},
    ]
    (receipt,) = api.ingest(
        make_event(1, action="api_token.updated", changes=changes, metadata={"k": [1, 2]})
    )
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        sign_in(page, str(api.client.base_url), api.token, "/?action=api_token.updated")
        page.get_by_role("link", name="Api token updated").click()
        detail = page.locator("tr.detail")
        expect(detail).to_be_visible()
        name_row = detail.locator(".changes tr", has=page.locator("th", has_text="name"))
        expect(name_row.locator("td.old")).to_have_text("Deploy key")
        expect(name_row.locator("td.new")).to_have_text("CI key")
        lines = detail.locator(".changes tr.line")
        marks = lines.evaluate_all("rows => rows.map(r => r.className.split(' ')[1])")
        olds = [t.strip(" −") for t in lines.locator("td.old").all_inner_texts()]
        news = [t.strip(" +") for t in lines.locator("td.new").all_inner_texts()]
        assert list(zip(marks, olds, news, strict=True)) == [
            ("same", "read", "read"),
            ("changed", "write", "deploy"),
            ("added", "", "admin"),
        ]
        expect(detail.locator("pre.json")).to_contain_text('"k": [')
        expect(detail).to_contain_text(f"seq {receipt['seq']}")
        expect(detail.locator("code.hash")).to_have_text(receipt["leaf_hash"])
        page.get_by_role("link", name="Api token updated").click()
        expect(page.locator("tr.detail")).to_have_count(0)


@sqlite_only
def test_a_run_timeline_from_an_event(api: Api, tmp_path: Path) -> None:
    steps = [
        ("trigger", "succeeded", None),
        ("fetch_invoice", "succeeded", None),
        ("send_email", "failed", {"message": "SMTP 550 mailbox unavailable"}),
    ]
    api.ingest(
        *[
            make_event(
                i,
                action="flow.step_finished",
                run={
                    "id": "run_42",
                    "flow": "SLA escalation",
                    "step": step,
                    "status": status,
                    "input": {"n": i},
                    "output": {"ok": status == "succeeded"},
                    "error": error,
                    "duration_ms": 100 + i,
                },
            )
            for i, (step, status, error) in enumerate(steps)
        ]
    )
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        sign_in(page, str(api.client.base_url), api.token, "/?run_id=run_42")
        page.locator(f"{ROW} a.expand").first.click()
        page.get_by_role("link", name="SLA escalation — timeline →").click()
        page.wait_for_url(lambda url: url.endswith("/runs/run_42"))
        steps_shown = page.locator("ol.timeline > li")
        expect(steps_shown).to_have_count(3)
        expect(steps_shown.nth(0)).to_contain_text("Trigger · trigger")
        failing = steps_shown.nth(2)
        expect(failing).to_have_class("step status-failed")
        expect(failing.locator("details.step-error pre")).to_be_visible()
        expect(failing.locator("details.step-error pre")).to_contain_text("SMTP 550")
        expect(steps_shown.nth(1)).to_contain_text("101 ms")
