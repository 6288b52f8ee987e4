"""Open a report in the Debian package's headless Chromium and record what the page does.

Playwright drives /usr/bin/chromium (never ``playwright install``: no downloads) with a
fresh user-data directory and no background networking. Every request, console message,
page error and dialog is recorded so tests can assert the report is silent and offline.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class PageRecord:
    """What happened while a report page loaded."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    chart_count: int = 0
    rendered_chart_count: int = 0
    visible_text: str = ""


def require_chromium() -> None:
    """Skip with a reason when Chromium or playwright is missing (CI installs both)."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium; .ci/run installs it)")
    pytest.importorskip("playwright.sync_api")


@contextmanager
def chromium_context() -> Iterator[object]:
    """A persistent headless Chromium context on a fresh user-data dir."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="capplan-chromium-") as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True, viewport={"width": 1200, "height": 900})
        try:
            yield context
        finally:
            context.close()


def open_report(context, html_path: Path, screenshot: Path | None = None) -> PageRecord:
    """Load ``html_path`` from file://, wait for plotly, count rendered charts, screenshot."""
    record = PageRecord()
    page = context.new_page()
    page.on("request", lambda r: record.requests.append(r.url))
    page.on("console", lambda m: record.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: record.page_errors.append(str(e)))
    page.on("dialog", lambda d: (record.dialogs.append(d.message), d.dismiss()))
    page.goto(html_path.resolve().as_uri(), wait_until="load")
    page.wait_for_function("() => window.Plotly !== undefined", timeout=15_000)
    record.chart_count = page.locator("div.chart").count()
    page.wait_for_function(
        "n => document.querySelectorAll('div.chart .main-svg').length >= n", arg=record.chart_count, timeout=15_000)
    record.rendered_chart_count = page.locator("div.chart:has(.main-svg)").count()
    record.visible_text = page.inner_text("body")
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return record
