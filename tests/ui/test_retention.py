"""The retention page: the policy form (the API's own validation and messages, the change
self-audited as from the web), how runs stand, and a GDPR erasure request that must be
confirmed, with CSRF and only for ``retention:manage``."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from playwright.sync_api import expect

from support import Api, make_event
from trailkeeper.service import Trailkeeper
from ui_browser import (
    DESKTOP,
    PHONE,
    Guard,
    browser_context,
    form_csrf,
    save_screenshot,
    sign_in,
    ui_session,
)

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])

PAYLOAD = "<img src=x onerror=\"window.__pwned=1;alert('img')\"><script>alert(1)</script>"


def test_the_policy_is_shown_changed_and_validated_as_the_api_does(
    api: Api, tmp_path: Path
) -> None:
    base = str(api.client.base_url)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        sign_in(page, base, api.token, "/retention")
        expect(page.get_by_role("link", name="Retention")).to_have_attribute("aria-current", "page")
        expect(page.locator("#days")).to_have_value("")
        expect(page.locator(".policy-summary")).to_have_text("events are kept forever")
        expect(page.locator(".last-run")).to_have_text("never")

        page.locator("#days").fill("ninety")
        page.get_by_role("button", name="Save policy").click()
        expect(page.locator("#policy-error")).to_contain_text("days must be a whole number of days")
        expect(page.locator("#days")).to_have_value("ninety")
        page.locator("#days").fill("0")
        page.get_by_role("button", name="Save policy").click()
        expect(page.locator("#policy-error")).to_contain_text("days must be at least 1")
        assert api.get("/v1/retention").json()["days"] is None

        page.locator("#days").fill("90")
        page.locator("#archive").check()
        page.locator("#legal_hold").check()
        page.get_by_role("button", name="Save policy").click()
        expect(page.locator("#saved")).to_have_text("Retention policy saved.")
        expect(page.locator(".policy-summary")).to_contain_text("legal hold")
        stored = api.get("/v1/retention").json()
        assert (stored["days"], stored["archive"], stored["legal_hold"]) == (90, True, True)

        page.locator("#legal_hold").uncheck()
        page.locator("#archive").uncheck()
        page.get_by_role("button", name="Save policy").click()
        expect(page.locator(".policy-summary")).to_have_text("events are deleted after 90 days")
        expect(page.locator("#days")).to_have_value("90")
        stored = api.get("/v1/retention").json()
        assert (stored["days"], stored["archive"], stored["legal_hold"]) == (90, False, False)
    updates = api.events(self_audit=True, action="trailkeeper.retention.updated")
    assert len(updates) == 2
    assert updates[0]["source"] == "web"
    assert updates[0]["ip"] == "127.0.0.1"
    assert updates[0]["metadata"]["old"]["legal_hold"] is True
    assert updates[0]["metadata"]["new"] == {"days": 90, "archive": False, "legal_hold": False}


@sqlite_only
def test_an_erasure_must_be_confirmed_and_shows_its_progress(
    api: Api, service: Trailkeeper, tmp_path: Path
) -> None:
    api.ingest(*[make_event(i) for i in range(9)])  # actors u_0, u_1, u_2: three events each
    base = str(api.client.base_url)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        guard = Guard(page)
        sign_in(page, base, api.token, "/retention")
        page.locator("#actor_id").fill("u_1")
        page.get_by_role("button", name="Erase").click()
        expect(page.locator("#erasure-error")).to_contain_text("Tick the box to confirm")
        expect(page.locator("#actor_id")).to_have_value("u_1")

        page.locator("#actor_id").fill(PAYLOAD)
        page.locator("#confirm").check()
        page.get_by_role("button", name="Erase").click()
        expect(page.locator("#erasure-error")).to_contain_text("nothing to erase")
        assert page.evaluate("window.__pwned") is None
        assert guard.dialogs == []

        page.locator("#actor_id").fill("u_1")
        page.locator("#confirm").check()
        page.get_by_role("button", name="Erase").click()
        page.wait_for_url(base + "/retention/erasures/era_*")
        expect(page.locator(".actor")).to_have_text("u_1")
        expect(page.locator(".state")).to_have_text("queued")
        expect(page.locator(".erased")).to_have_text("0 of 3")
        erasure_id = page.url.rsplit("/", 1)[1]

        assert service.erasures.run_all() >= 1
        page.reload()
        expect(page.locator(".state")).to_have_text("succeeded")
        expect(page.locator(".erased")).to_have_text("3 of 3")
    job = api.get(f"/v1/erasures/{erasure_id}").json()
    assert (job["status"], job["events_erased"]) == ("succeeded", 3)
    erased = api.events(actor="u_1")
    assert len(erased) == 3
    assert all(e["actor"].get("email") is None and e["pii_erased"] for e in erased)
    assert all(e["actor"]["email"] == "u0@example.com" for e in api.events(actor="u_0"))


@sqlite_only
def test_a_failed_runs_error_is_shown_as_text(
    api: Api, service: Trailkeeper, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    tenant = service.store.tenant_by_name(api.tenant)
    assert tenant is not None
    assert service.store.claim_retention(tenant.id, "test-worker", 30)
    service.store.finish_retention(
        tenant.id,
        "test-worker",
        f"upload failed: {PAYLOAD}",
        datetime.now(UTC) + timedelta(hours=1),
    )
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        guard = Guard(page)
        sign_in(page, str(api.client.base_url), api.token, "/retention")
        expect(page.locator(".last-error pre")).to_have_text(f"upload failed: {PAYLOAD}")
        expect(page.locator(".last-run time")).to_be_visible()
        assert page.locator("img[src=x]").count() == 0
        assert page.evaluate("window.__pwned") is None
        assert guard.dialogs == []


@sqlite_only
def test_retention_forms_need_their_csrf_token_and_the_scope(api: Api) -> None:
    api.ingest(make_event(1))
    base = str(api.client.base_url)
    with ui_session(base, api.token) as client:
        refused = client.post("/retention", data={"csrf": "0" * 64, "days": "30"})
        assert refused.status_code == 403
        assert "This form has expired" in refused.text
        refused = client.post(
            "/retention/erasures", data={"csrf": "0" * 64, "actor_id": "u_1", "confirm": "on"}
        )
        assert refused.status_code == 403
        missing = client.get("/retention/erasures/era_nope")
        assert missing.status_code == 404
        assert "No erasure" in html.unescape(missing.text)
    assert api.get("/v1/retention").json()["days"] is None
    reader = api.token_with("audit-log:list", "audit-log:export")
    with ui_session(base, reader) as client:
        page = client.get("/")
        assert 'href="/retention"' not in page.text
        assert client.get("/retention").status_code == 403
        csrf = form_csrf(page.text)
        refused = client.post("/retention", data={"csrf": csrf, "days": "30"})
        assert refused.status_code == 403
        assert "lacks the 'retention:manage' scope" in html.unescape(refused.text)
        refused = client.post(
            "/retention/erasures", data={"csrf": csrf, "actor_id": "u_1", "confirm": "on"}
        )
        assert refused.status_code == 403
    assert api.get("/v1/retention").json()["days"] is None
    assert api.events(self_audit=True, action="trailkeeper.erasure.*") == []


@sqlite_only
def test_retention_screenshots(api: Api, tmp_path: Path) -> None:
    """The page at desktop and phone width (saved to docs/images with TRAILKEEPER_SCREENSHOTS=1)."""
    assert api.put("/v1/retention", {"days": 2555, "archive": True}).status_code == 200
    base = str(api.client.base_url)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        with browser_context(tmp_path / name, viewport) as context:
            page = context.new_page()
            sign_in(page, base, api.token, "/retention")
            expect(page.locator(".policy-summary")).to_contain_text("2,555 days")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], "the retention page must not scroll sideways"
            save_screenshot(page, tmp_path, f"retention-{name}")
