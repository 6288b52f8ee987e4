"""The HTML report in a real headless Chromium: offline, silent, every chart drawn, XSS-safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from capplan.report.render import render_html, write_text_atomic
from capplan.report.view import build_view
from chromium import open_report
from synthetic_facts import XSS, synthetic_facts

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, service: str, endpoint: str) -> Path:
    return write_text_atomic(tmp_path / "report.html", render_html(build_view(synthetic_facts(service, endpoint))))


def test_report_loads_offline_with_no_console_errors_and_every_chart_drawn(chromium, tmp_path):
    html = _write(tmp_path, "checkout-api", "/cart")
    shot = tmp_path / "report.png"
    record = open_report(chromium, html, screenshot=shot)
    assert record.requests == [html.resolve().as_uri()]
    assert record.console_errors == [] and record.page_errors == []
    assert record.chart_count == 6 and record.rendered_chart_count == 6
    assert shot.stat().st_size > 10_000


def test_a_service_and_endpoint_named_script_are_shown_as_text(chromium, tmp_path):
    record = open_report(chromium, _write(tmp_path, XSS, XSS))
    assert record.dialogs == [] and record.page_errors == []
    assert f"Capacity report: {XSS}" in record.visible_text
    assert f"2,000 req/s on {XSS}" in record.visible_text


def test_the_kept_demo_report_renders_offline(chromium, tmp_path):
    demo = REPO / "reports" / "demo.html"
    if not demo.is_file():
        pytest.skip("reports/demo.html not generated yet (capplan demo writes it)")
    record = open_report(chromium, demo, screenshot=tmp_path / "demo.png")
    assert record.requests == [demo.resolve().as_uri()]
    assert record.console_errors == [] and record.page_errors == []
    assert record.chart_count >= 4 and record.rendered_chart_count == record.chart_count
