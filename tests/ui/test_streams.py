"""The streams page: each stream's destination (never a secret), status, cursor, lag,
deliveries and last error, shown as text; pause, resume and a test event through the
same use cases as ``/v1/streams``, with CSRF and only for ``streams:manage``."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from receiver import Receiver
from support import Api, delete_streams, make_event
from trailkeeper.service import Trailkeeper
from trailkeeper.settings import Settings
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

PUBLIC = "93.184.215.14"  # a public address: no DNS lookup
HEC_TOKEN = "5e1a0c7d-0000-4000-8000-00000000c0de"
QUERY_KEY = "qs-secret-key-123"
PAYLOAD = (
    "<img src=x onerror=\"window.__pwned=1;alert('img')\"><script>alert(1)</script><b>bold</b>"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback receivers are destinations here (a deployment must opt in to that)."""
    return settings.model_copy(update={"allow_private_destinations": True, "outbound_timeout": 2.0})


@pytest.fixture(autouse=True)
def _own_streams_only(service: Trailkeeper, api: Api) -> Iterator[None]:
    yield
    delete_streams(service, api)


def _create(api: Api, name: str, kind: str, config: dict[str, Any], **fields: Any) -> str:
    body = {"name": name, "type": kind, "config": config, "start": "beginning", **fields}
    response = api.post("/v1/streams", body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _fail(service: Trailkeeper, api: Api, stream_id: str, error: str, delivered: int) -> None:
    """What the delivery loop records for a stream: ``delivered`` events, then an error
    that needs a person (the store's own calls, as the supervisor makes them)."""
    store = service.store
    assert store.claim_stream(stream_id, "test-owner", 30) is not None
    if delivered:
        assert store.stream_progress(stream_id, "test-owner", delivered - 1, delivered, 30)
    assert store.stream_error(stream_id, "test-owner", error, failing=True, lease_seconds=30)
    store.release_stream(stream_id, "test-owner")


def _card(page: Page, stream_id: str) -> Any:
    return page.locator(f"article.stream[data-id='{stream_id}']")


def test_each_streams_health_is_shown_and_no_secret(
    api: Api, service: Trailkeeper, tmp_path: Path
) -> None:
    api.ingest(*[make_event(i) for i in range(7)])
    splunk = _create(
        api,
        "Splunk production",
        "splunk_hec",
        {"url": f"https://{PUBLIC}:8088/services/collector?key={QUERY_KEY}",
         "token": HEC_TOKEN, "index": "audit"},
    )  # fmt: skip
    hostile = _create(
        api, PAYLOAD, "syslog", {"host": PUBLIC, "port": 6514, "protocol": "tls"}, format="cef"
    )
    _fail(service, api, hostile, f"TLS handshake failed: {PAYLOAD}", delivered=3)
    api.post(f"/v1/streams/{splunk}/pause")
    base = str(api.client.base_url)
    with browser_context(tmp_path / "profile") as context:
        page = context.new_page()
        guard = Guard(page)
        sign_in(page, base, api.token, "/streams")
        # as the API has it now (signing in added an event to the log, so to the lag)
        listed = {s["id"]: s for s in api.get("/v1/streams").json()["data"]}
        expect(page.get_by_role("link", name="Streams")).to_have_attribute("aria-current", "page")
        card = _card(page, splunk)
        expect(card.locator(".stream-name")).to_have_text("Splunk production")
        expect(card.locator(".state")).to_have_text("paused")
        expect(card.locator(".dest")).to_have_text(
            f"https://{PUBLIC}:8088/services/collector?… · index audit"
        )
        expect(card.locator(".cursor")).to_have_text(str(listed[splunk]["cursor_seq"]))
        expect(card.locator(".lag")).to_have_text(f"{listed[splunk]['lag_events']} events")
        expect(card.locator(".last-delivery")).to_have_text("never")
        expect(card.get_by_role("button", name="Resume Splunk production")).to_be_visible()
        expect(card.get_by_role("button", name="Pause Splunk production")).to_have_count(0)

        card = _card(page, hostile)
        expect(card.locator(".stream-name")).to_have_text(PAYLOAD)
        expect(card.locator(".state")).to_have_text("failing")
        expect(card.locator(".dest")).to_have_text(f"tls://{PUBLIC}:6514")
        expect(card.locator(".delivered")).to_have_text("3")
        expect(card.locator(".cursor")).to_have_text("2")
        expect(card.locator(".lag")).to_have_text(f"{listed[hostile]['lag_events']} events")
        assert listed[hostile]["lag_events"] > 0
        expect(card.locator(".last-delivery time")).to_have_attribute(
            "datetime", listed[hostile]["last_delivery_at"]
        )
        expect(card.locator(".last-error pre")).to_have_text(f"TLS handshake failed: {PAYLOAD}")
        expect(card.get_by_role("button", name="Retry")).to_be_visible()

        text = page.content()
        for secret in (HEC_TOKEN, QUERY_KEY):
            assert secret not in text
        assert page.locator("img[src=x], b:text('bold')").count() == 0
        assert page.evaluate("window.__pwned") is None
        assert guard.dialogs == []


@sqlite_only
def test_pause_resume_and_a_test_event_from_the_page(
    api: Api, service: Trailkeeper, tmp_path: Path
) -> None:
    with Receiver(204, 503) as hook:
        stream_id = _create(api, "Webhook", "webhook", {"url": hook.url + "/audit"})
        base = str(api.client.base_url)
        with browser_context(tmp_path / "profile") as context:
            page = context.new_page()
            sign_in(page, base, api.token, "/streams")
            card = _card(page, stream_id)
            card.get_by_role("button", name="Send a test event to Webhook").click()
            expect(page.locator("#test-result")).to_contain_text("Test event delivered")
            assert len(hook.requests) == 1
            assert b"trailkeeper.stream.test" in hook.requests[0].body
            card.get_by_role("button", name="Send a test event to Webhook").click()
            expect(page.locator("#test-result")).to_contain_text("Test event not delivered")
            expect(page.locator("#test-result .test-error")).to_contain_text("503")

            card.get_by_role("button", name="Pause Webhook").click()
            page.wait_for_url(base + "/streams")
            expect(card.locator(".state")).to_have_text("paused")
            assert api.get(f"/v1/streams/{stream_id}").json()["status"] == "paused"
            card.get_by_role("button", name="Resume Webhook").click()
            expect(card.locator(".state")).to_have_text("active")
            assert api.get(f"/v1/streams/{stream_id}").json()["status"] == "active"
    audit = api.events(self_audit=True, action="trailkeeper.stream.*")
    by_action = {e["action"]: e for e in audit}
    assert {"trailkeeper.stream.paused", "trailkeeper.stream.resumed"} <= set(by_action)
    assert [e["metadata"]["delivered"] for e in audit if e["action"].endswith("tested")] == [
        False,
        True,
    ]  # newest first
    paused = by_action["trailkeeper.stream.paused"]
    assert paused["source"] == "web"
    assert paused["ip"] == "127.0.0.1"


@sqlite_only
def test_stream_forms_need_their_csrf_token_and_the_scope(api: Api) -> None:
    stream_id = _create(api, "siem", "splunk_hec", {"url": f"https://{PUBLIC}:8088", "token": "t"})
    base = str(api.client.base_url)
    with ui_session(base, api.token) as client:
        for verb in ("pause", "resume", "test"):
            refused = client.post(f"/streams/{stream_id}/{verb}", data={"csrf": "0" * 64})
            assert refused.status_code == 403, verb
            assert "This form has expired" in refused.text
        csrf = form_csrf(client.get("/streams").text)
        missing = client.post("/streams/str_nope/pause", data={"csrf": csrf})
        assert missing.status_code == 404
        assert "No stream with id" in missing.text
        assert api.get(f"/v1/streams/{stream_id}").json()["status"] == "active"
    reader = api.token_with("audit-log:list", "audit-log:export")
    with ui_session(base, reader) as client:
        page = client.get("/")
        assert 'href="/streams"' not in page.text
        assert client.get("/streams").status_code == 403
        csrf = form_csrf(page.text)
        refused = client.post(f"/streams/{stream_id}/pause", data={"csrf": csrf})
        assert refused.status_code == 403
        assert "lacks the 'streams:manage' scope" in html.unescape(refused.text)
    assert api.get(f"/v1/streams/{stream_id}").json()["status"] == "active"


@sqlite_only
def test_no_streams_yet(api: Api, tmp_path: Path) -> None:
    with browser_context(tmp_path / "profile", PHONE) as context:
        page = context.new_page()
        sign_in(page, str(api.client.base_url), api.token, "/streams")
        expect(page.locator(".empty")).to_contain_text("No streams yet.")
        expect(page.locator("article.stream")).to_have_count(0)


@sqlite_only
def test_streams_screenshots(api: Api, service: Trailkeeper, tmp_path: Path) -> None:
    """The page at desktop and phone width, with a healthy, a paused and a failing stream
    (saved to docs/images with TRAILKEEPER_SCREENSHOTS=1)."""
    api.ingest(*[make_event(i) for i in range(40)])
    healthy = _create(
        api, "Splunk production", "splunk_hec",
        {"url": f"https://{PUBLIC}:8088/services/collector", "token": HEC_TOKEN, "index": "audit"},
        filters={"action": ["card.*"]},
    )  # fmt: skip
    store = service.store
    assert store.claim_stream(healthy, "shot", 30)
    assert store.stream_progress(healthy, "shot", 38, 39, 30)
    store.release_stream(healthy, "shot")
    archive = _create(api, "S3 archive", "s3", {"bucket": "audit-archive", "prefix": "trail/"})
    api.post(f"/v1/streams/{archive}/pause")
    failing = _create(
        api, "Datadog", "datadog", {"url": f"https://{PUBLIC}", "api_key": "dd-key"}, format="ocsf"
    )
    _fail(service, api, failing, "HTTP 403 from the destination: API key invalid", delivered=12)
    base = str(api.client.base_url)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        with browser_context(tmp_path / name, viewport) as context:
            page = context.new_page()
            sign_in(page, base, api.token, "/streams")
            expect(page.locator("article.stream")).to_have_count(3)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], "the streams page must not scroll sideways"
            save_screenshot(page, tmp_path, f"streams-{name}")
