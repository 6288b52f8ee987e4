"""``capplan demo --quick`` end to end: four real load tests, analysis, forecast, plan, report, archive."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from capplan.app.demo import DemoSettings, run_demo
from capplan.store.runs import read_run

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "browser"))


def test_the_quick_demo_measures_the_target_and_writes_a_report_that_renders(tmp_path):
    shutil.copy(REPO / "capplan.toml", tmp_path / "capplan.toml")
    settings = DemoSettings(out=tmp_path / "demo.html", config=tmp_path / "capplan.toml", quick=True,
                            history=REPO / "datasets" / "sample_traffic_daily.csv", runs_dir=tmp_path / "runs")
    result = run_demo(settings)

    runs = [read_run(d) for d in result.run_dirs]
    assert [r.scenario for r in runs] == ["baseline", "stress", "spike", "soak"]
    assert all(r.complete for r in runs)
    # 4 slots × 10 ms mean service time: about 400 req/s nominal, a little less with contention
    assert 300 <= result.max_throughput_rps <= 440
    assert 0 < result.safe_throughput_rps < result.max_throughput_rps
    assert result.verdict.status in ("ok", "act")
    assert result.archive_path is not None and result.archive_path.parent == tmp_path / "datasets" / "reviews"
    assert result.report_path.read_text().startswith("<!DOCTYPE html>")

    from chromium import chromium_context, open_report, require_chromium

    require_chromium()
    with chromium_context() as context:
        record = open_report(context, result.report_path)
    assert record.requests == [result.report_path.resolve().as_uri()]
    assert record.console_errors == [] and record.page_errors == []
    assert record.chart_count >= 6 and record.rendered_chart_count == record.chart_count
