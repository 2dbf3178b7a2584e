"""Playwright on Debian's Chromium (never a downloaded browser), headless, one fresh
profile per test, against a real trailkeeper server on loopback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, sync_playwright

__all__ = [
    "CHROMIUM",
    "DESKTOP",
    "PHONE",
    "Guard",
    "browser_context",
    "form_csrf",
    "save_screenshot",
    "sign_in",
    "ui_session",
]

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS_ENV = "TRAILKEEPER_SCREENSHOTS"
IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


@contextmanager
def browser_context(profile: Path, viewport: dict[str, int] = DESKTOP) -> Iterator[BrowserContext]:
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport=viewport,  # type: ignore[arg-type]
            accept_downloads=True,
            timezone_id="UTC",
        )
        try:
            yield context
        finally:
            context.close()


class Guard:
    """Records anything a payload could make run: dialogs, and a flag set by script."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.console: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", lambda message: self.console.append(message.text))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def sign_in(page: Page, base_url: str, token: str, path: str = "/") -> None:
    page.goto(base_url + path)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def form_csrf(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


@contextmanager
def ui_session(base_url: str, token: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in to the UI (for checks a browser cannot make)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        csrf = form_csrf(client.get("/signin").text)
        signed = client.post("/signin", data={"csrf": csrf, "token": token, "next": "/"})
        assert signed.status_code == 303, signed.text
        yield client


def save_screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    """Always to ``tmp_path``; copied to docs/images when TRAILKEEPER_SCREENSHOTS=1."""
    target = tmp_path / f"{name}.png"
    page.screenshot(path=str(target), full_page=False)
    if os.environ.get(SCREENSHOTS_ENV) == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, IMAGES / target.name)
    return target
