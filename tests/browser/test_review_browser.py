"""The monthly review page in a real headless Chromium: offline, silent, the comparison chart drawn."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from capplan.config import load_config
from capplan.report.render import render_html, write_text_atomic
from capplan.app.reviewing import run_review
from chromium import open_report

pytestmark = pytest.mark.slow
XSS = "<script>alert(1)</script>"


def _history(folder: Path, days: int) -> None:
    start = date(2025, 1, 1)
    rows = ["ds,peak_rps"] + [f"{start + timedelta(days=i)},{100 + i + 15 * (i % 7 == 4)}" for i in range(days)]
    (folder / "history.csv").write_text("\n".join(rows) + "\n")


def test_a_review_with_a_previous_plan_renders_its_chart_offline(chromium, tmp_path):
    (tmp_path / "capplan.toml").write_text(
        f'[service]\nname = "{XSS}"\n[capacity]\nper_instance_rps = 400\n[fleet]\ncurrent_count = 3\n'
        '[demand]\nsource = "history.csv"\nmodel = "seasonal_naive"\nhorizon = "6mo"\n')
    config = load_config(tmp_path / "capplan.toml")
    _history(tmp_path, 400)
    run_review(config, now=datetime(2026, 2, 5, tzinfo=timezone.utc))
    _history(tmp_path, 430)
    outcome = run_review(config, now=datetime(2026, 3, 7, tzinfo=timezone.utc), archive=False)
    assert outcome.review is not None and outcome.review.forecast_error.days == 30
    page = write_text_atomic(tmp_path / "review.html", render_html(outcome.view))
    record = open_report(chromium, page, screenshot=tmp_path / "review.png")
    assert record.requests == [page.resolve().as_uri()]
    assert record.console_errors == [] and record.page_errors == [] and record.dialogs == []
    assert record.rendered_chart_count == record.chart_count >= 3
    assert f"Monthly capacity review: {XSS}" in record.visible_text
    assert "Forecast against actual" in record.visible_text and "Days compared" in record.visible_text
