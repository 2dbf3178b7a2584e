"""Files from the UI: the filtered view as CSV (byte for byte the API's download), and
an export requested, written by the worker, downloaded with its manifest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from support import Api, make_event
from trailkeeper.service import Trailkeeper
from ui_browser import browser_context, sign_in

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def _recent(index: int, **fields: object) -> dict[str, object]:
    when = datetime.now(UTC) - timedelta(days=2, minutes=index)
    return make_event(index, occurred_at=when.isoformat().replace("+00:00", "Z"), **fields)


def test_export_csv_of_the_filtered_view_is_the_api_download(api: Api, tmp_path: Path) -> None:
    api.ingest(*[make_event(i, metadata={"formula": "=1+2", "i": i}) for i in range(30)])
    base = str(api.client.base_url)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        sign_in(page, base, api.token, "/?actor=u_2&q=user")
        with page.expect_download() as info:
            page.get_by_role("link", name="Export CSV").click()
        download = info.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
    expected = api.get("/v1/events/download", params={"format": "csv", "actor": "u_2", "q": "user"})
    assert expected.status_code == 200
    assert saved.read_bytes() == expected.content
    assert saved.read_bytes().count(b"\n") == 1 + 10  # the header and u_2's ten events
    assert download.suggested_filename == f"trailkeeper-{api.tenant}-events.csv"


@sqlite_only
def test_request_an_export_and_download_it(api: Api, service: Trailkeeper, tmp_path: Path) -> None:
    api.ingest(
        *[_recent(i, resource={"type": "pipe", "id": "p9", "name": "Pipe"}) for i in range(5)]
    )
    day = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    base = str(api.client.base_url)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        sign_in(page, base, api.token, "/exports")
        expect(page.get_by_text("at most 30 days")).to_be_visible()
        page.get_by_label("Format").select_option("jsonl")
        page.get_by_label("From (UTC day)").fill(day)
        page.get_by_label("To (UTC day)").fill(day)
        page.get_by_label("Resource type").fill("pipe")
        page.get_by_label("Resource id").fill("p9")
        page.get_by_role("button", name="Request export").click()
        row = page.locator("tr.export").first
        expect(row).to_contain_text("queued")
        service.integrity.sync(service.tenancy.tenant(api.tenant).id)
        assert service.export_runner.run_once()
        page.reload()
        expect(row.locator(".state")).to_have_text("succeeded")
        with page.expect_download() as info:
            row.get_by_role("link", name="Download").click()
        lines = Path(info.value.path()).read_bytes().splitlines()
        assert len(lines) == 5
        with page.expect_download() as manifest:
            row.get_by_role("link", name="Manifest").click()
        export_id = row.get_attribute("data-id")
        assert f'"export_id": "{export_id}"'.encode() in Path(manifest.value.path()).read_bytes()
        today = datetime.now(UTC).date()
        page.get_by_label("From (UTC day)").fill((today - timedelta(days=100)).isoformat())
        page.get_by_label("To (UTC day)").fill((today - timedelta(days=1)).isoformat())
        page.get_by_role("button", name="Request export").click()
        expect(page.locator("#export-error")).to_contain_text("Exports cover whole UTC days")
