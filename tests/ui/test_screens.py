"""The main views on the demo data, at desktop and phone width: each page shows what it
should, and its screenshot is saved (to docs/images with TRAILKEEPER_SCREENSHOTS=1).
The integrity page's "verify now" runs the real verification."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from support import Api
from trailkeeper.demo import demo_events
from trailkeeper.events.batch import MAX_BATCH
from trailkeeper.service import Trailkeeper
from ui_browser import DESKTOP, PHONE, browser_context, save_screenshot, sign_in


def _load_demo(service: Trailkeeper, api: Api) -> list[dict[str, object]]:
    tenant = service.tenancy.tenant(api.tenant)
    events = demo_events(datetime.now(UTC))
    for start in range(0, len(events), MAX_BATCH):
        service.ingest_events(tenant, events[start : start + MAX_BATCH])
    service.integrity.sync(tenant.id)
    return events


def _failed_run(events: list[dict[str, object]]) -> str:
    for event in reversed(events):
        run = event.get("run")
        if isinstance(run, dict) and run.get("status") == "failed":
            return str(run["id"])
    raise AssertionError("the demo has a failed run")


def _tour(page: Page, base: str, tmp_path: Path, suffix: str, run_id: str) -> None:
    page.goto(base + "/")
    expect(page.locator("tr.event")).to_have_count(50)
    save_screenshot(page, tmp_path, f"feed-{suffix}")
    page.goto(base + "/?action=card.updated")
    page.locator("tr.event a.expand").first.click()
    expect(page.locator("tr.detail .changes")).to_be_visible()
    save_screenshot(page, tmp_path, f"expanded-{suffix}")
    page.goto(base + f"/runs/{run_id}")
    expect(page.locator("details.step-error").first).to_be_visible()
    save_screenshot(page, tmp_path, f"run-{suffix}")
    page.goto(base + "/exports")
    expect(page.locator("tr.export").first).to_contain_text("succeeded")
    save_screenshot(page, tmp_path, f"exports-{suffix}")
    page.goto(base + "/integrity")
    expect(page.locator(".result.ok")).to_contain_text("Intact")
    save_screenshot(page, tmp_path, f"integrity-{suffix}")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_main_views_at_desktop_and_phone_width(
    api: Api, service: Trailkeeper, tmp_path: Path
) -> None:
    events = _load_demo(service, api)
    run_id = _failed_run(events)
    base = str(api.client.base_url)
    with browser_context(tmp_path / "desktop", DESKTOP) as context:
        page = context.new_page()
        sign_in(page, base, api.token, "/exports")
        page.get_by_role("button", name="Request export").click()
        expect(page.locator("tr.export")).to_have_count(1)
        assert service.export_runner.run_once()
        page.goto(base + "/integrity")
        page.get_by_role("button", name="Verify now").click()
        expect(page.locator(".result.ok")).to_contain_text(f"{len(events) + 3:,} events")
        _tour(page, base, tmp_path, "desktop", run_id)
    with browser_context(tmp_path / "phone", PHONE) as context:
        page = context.new_page()
        sign_in(page, base, api.token)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "the feed must not scroll sideways on a phone"
        _tour(page, base, tmp_path, "phone", run_id)
