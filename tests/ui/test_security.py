"""Safe by construction: payloads in every rendered field stay text, forms need their
CSRF token, sessions end with their token, scopes decide what is offered."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from support import Api, make_event
from trailkeeper.service import Trailkeeper
from ui_browser import Guard, browser_context, form_csrf, sign_in, ui_session

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])

SCRIPT = "<script>window.__pwned = (window.__pwned || 0) + 1; alert('xss')</script>"
IMG = "<img src=x onerror=\"window.__pwned=1;alert('img')\">"
SVG = "<svg onload=alert('svg')>"
PAYLOAD = f"{SCRIPT}{IMG}{SVG}\"'><b>bold</b>"
SHORT = "<img src=x onerror=alert(1)><b>bold</b>"
"""For fields of at most 64 characters."""


def _hostile_event() -> dict[str, object]:
    run = {
        "id": f"run-{PAYLOAD}",
        "flow": PAYLOAD,
        "step": PAYLOAD,
        "status": SHORT,
        "input": {"x": PAYLOAD},
        "output": {PAYLOAD: PAYLOAD},
        "error": {"message": PAYLOAD},
        "duration_ms": 5,
    }
    return make_event(
        1,
        id="evt-hostile",
        actor={"id": PAYLOAD, "name": PAYLOAD, "email": PAYLOAD},
        resource={"type": SHORT, "id": PAYLOAD, "name": PAYLOAD},
        category=SHORT,
        user_agent=PAYLOAD,
        changes=[{"field": PAYLOAD, "old": [PAYLOAD], "new": [PAYLOAD, "x"]}],
        run=run,
        metadata={PAYLOAD: PAYLOAD},
    )


@sqlite_only
def test_payloads_in_every_field_render_as_text(api: Api, tmp_path: Path) -> None:
    api.ingest(_hostile_event())
    base = str(api.client.base_url)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        guard = Guard(page)
        sign_in(
            page, base, api.token, "/?actor=" + httpx.URL(params={"a": PAYLOAD}).query.decode()[2:]
        )
        row = page.locator("tr.event", has_text="<script>")
        expect(row.locator(".who")).to_have_text(PAYLOAD)
        expect(row.locator("td.res")).to_contain_text(PAYLOAD)
        row.locator("a.expand").click()
        detail = page.locator("tr.detail")
        expect(detail.locator("pre.json")).to_contain_text(PAYLOAD.replace('"', '\\"'))
        expect(detail.locator(".changes")).to_contain_text(PAYLOAD)
        expect(detail).to_contain_text(PAYLOAD)  # user agent, actor, resource, run
        for picker in ("actor", "action", "resource"):
            page.locator(f"details[data-picker={picker}] > summary").click()
            expect(page.locator(f"details[data-picker={picker}] .loading-note")).to_have_count(0)
        expect(page.locator("details[data-picker=actor] label.option").first).to_contain_text(
            PAYLOAD
        )
        pages = [page.url]
        detail.get_by_role("link", name="timeline").click()
        page.wait_for_load_state("networkidle")
        expect(page.locator("ol.timeline")).to_contain_text(PAYLOAD)
        pages.append(page.url)
        page.goto(base + "/events/evt-hostile")
        expect(page.locator(".card")).to_contain_text(PAYLOAD)
        for url in [*pages, page.url]:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            assert page.locator("img[src=x], svg[onload], b:text('bold')").count() == 0
            assert page.evaluate("window.__pwned") is None
        assert guard.dialogs == []


@sqlite_only
def test_forms_without_their_csrf_token_are_refused(api: Api) -> None:
    with ui_session(str(api.client.base_url), api.token) as client:
        for path in ("/signout", "/exports", "/integrity/verify"):
            refused = client.post(path, data={"csrf": "0" * 64, "format": "csv"})
            assert refused.status_code == 403, path
            assert "This form has expired" in refused.text
        csrf = form_csrf(client.get("/integrity").text)
        foreign = client.post(
            "/signout", data={"csrf": csrf}, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        assert client.get("/").status_code == 200  # still signed in
        assert client.post("/signout", data={"csrf": csrf}).status_code == 303
        assert client.get("/").status_code == 303  # signed out


@sqlite_only
def test_sign_in_form_needs_its_own_csrf_token(api: Api) -> None:
    with httpx.Client(base_url=str(api.client.base_url)) as client:
        client.get("/signin")
        refused = client.post("/signin", data={"token": api.token, "csrf": "nope"})
        assert refused.status_code == 403
        assert "tk_session" not in refused.cookies


@sqlite_only
def test_a_revoked_tokens_session_ends_at_its_next_request(
    api: Api, service: Trailkeeper, tmp_path: Path
) -> None:
    token = api.token_with("audit-log:list")
    token_id = next(t["id"] for t in api.get("/v1/tokens").json()["data"] if t["name"] == "test")
    base = str(api.client.base_url)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        sign_in(page, base, token)
        expect(page.locator("tr.event").first).to_be_visible()
        service.tenancy.revoke_token(service.tenancy.tenant(api.tenant), token_id, actor=None)
        page.goto(base + "/integrity")
        page.wait_for_url(lambda url: "/signin" in url)
        expect(page.get_by_text("Your session has ended")).to_be_visible()


@sqlite_only
def test_an_ended_session_signs_in_again_and_returns_to_the_page(
    api: Api, service: Trailkeeper, tmp_path: Path
) -> None:
    base = str(api.client.base_url)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        sign_in(page, base, api.token)
        cookie = next(c for c in context.cookies() if c["name"] == "tk_session")
        assert cookie["httpOnly"]
        assert cookie["sameSite"] == "Lax"
        assert not cookie["secure"]
        service.sessions.sign_out(cookie["value"])  # as when it expires
        page.goto(base + "/?source=web&q=u1")
        page.wait_for_url(lambda url: "/signin" in url)
        page.get_by_label("API token").fill(api.token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: url == base + "/?source=web&q=u1")


@sqlite_only
def test_wrong_tokens_and_foreign_return_paths(api: Api, tmp_path: Path) -> None:
    base = str(api.client.base_url)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        for wrong in ("tk_" + "A" * 43, "not-a-token", api.token[:-2] + "xx"):
            page.goto(base + "/signin")
            page.get_by_label("API token").fill(wrong)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("alert")).to_have_text(
                "This token is not valid or has been revoked."
            )
        page.goto(base + "/signin?next=//evil.example/x")
        page.get_by_label("API token").fill(api.token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: url == base + "/")


@sqlite_only
def test_scopes_decide_what_is_offered(api: Api, tmp_path: Path) -> None:
    reader = api.token_with("audit-log:list")
    writer = api.token_with("events:write")
    base = str(api.client.base_url)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        page.goto(base + "/signin")
        page.get_by_label("API token").fill(writer)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("lacks the 'audit-log:list' scope")
        sign_in(page, base, reader)
        expect(page.locator("tr.event").first).to_be_visible()
        expect(page.get_by_role("link", name="Export CSV")).to_have_count(0)
        expect(page.get_by_role("link", name="Exports")).to_have_count(0)
        response = page.goto(base + "/exports")
        assert response is not None
        assert response.status == 403
        context.clear_cookies()
        sign_in(page, base, api.token)
        expect(page.get_by_role("link", name="Export CSV")).to_be_visible()


@sqlite_only
def test_security_headers_on_every_ui_response(api: Api) -> None:
    with ui_session(str(api.client.base_url), api.token) as client:
        for path in ("/", "/signin", "/integrity", "/static/app.js", "/no-such-page"):
            response = client.get(path)
            csp = response.headers["content-security-policy"]
            assert "script-src 'self';" in csp, path
            assert "unsafe-inline" not in csp
            assert "frame-ancestors 'none'" in csp
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["x-content-type-options"] == "nosniff"
        assert client.get("/v1/nothing").json()["error"]["code"] == "not_found"
