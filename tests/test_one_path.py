"""One capplan.toml, every output: forecast --json, plan --json, the report's data and the archived plan agree."""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capplan.cli.app import app

runner = CliRunner()
START = date(2026, 1, 1)
DAYS = 240
CONFIG = """
[service]
name = "checkout"
[capacity]
per_instance_rps = 300
[fleet]
current_count = 3
minimum = 2
lead_time = "14d"
[demand]
source = "history.csv"
model = "holt_winters"
horizon = "6mo"
[[demand.events]]
name = "black-friday"
date = 2026-11-27
multiplier = 2.0
[[demand.events]]
name = "launch"
start = 2027-01-15
multiplier = 1.3
[review]
output = "out/review.html"
archive_dir = "archive"
[report]
output = "out/report.html"
"""


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run the four commands once on one config; their parsed outputs."""
    folder = tmp_path_factory.mktemp("one-path")
    rows = ["ds,peak_rps"]
    for i in range(DAYS):  # growth, a weekly rhythm and a little deterministic wiggle
        value = (400.0 + 2.0 * i) * (1.0 + 0.1 * math.sin(2 * math.pi * i / 7)) + 5.0 * math.cos(i)
        rows.append(f"{(START + timedelta(days=i)).isoformat()},{value:.3f}")
    (folder / "history.csv").write_text("\n".join(rows) + "\n")
    config = folder / "capplan.toml"
    config.write_text(CONFIG)
    results = {}
    for name, args in (("forecast", ["forecast", "--config", str(config), "--json"]),
                       ("plan", ["plan", "--config", str(config), "--json"]),
                       ("report", ["report", "--config", str(config)]),
                       ("review", ["review", "--config", str(config)])):
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1), (name, result.output)
        results[name] = result.stdout
    html = (folder / "out" / "report.html").read_text()
    data = re.search(r'<script type="application/json" id="capplan-data">(.*?)</script>', html, re.S)
    (archived,) = sorted((folder / "archive").glob("plan-*.json"))
    return {"forecast": json.loads(results["forecast"]), "plan": json.loads(results["plan"])["plan"],
            "report": json.loads(data.group(1)), "archive": json.loads(archived.read_text()), "html": html}


def _archived_monthly(archive: dict) -> dict[str, tuple[float, float]]:
    peaks: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    fc = archive["forecast"]
    for ds, p50, p90 in zip(fc["ds"], fc["p50_rps"], fc["p90_rps"], strict=True):
        month = peaks[ds[:7]]
        month[0], month[1] = max(month[0], p50), max(month[1], p90)
    return {m: (v[0], v[1]) for m, v in peaks.items()}


def test_every_output_carries_the_same_monthly_p50_and_p90_peaks(outputs):
    fc = outputs["forecast"]
    per_unit = fc["peak_rps_per_unit"]
    from_forecast = {r["month"]: (r["p50_peak"] * per_unit, r["p90_peak"] * per_unit) for r in fc["monthly"]}
    from_plan = {r["month"]: (r["p50_peak_rps"], r["p90_peak_rps"]) for r in outputs["plan"]["months"]}
    from_report = {r["month"]: (r["p50_peak_rps"], r["p90_peak_rps"]) for r in outputs["report"]["plan"]["months"]}
    from_archive = _archived_monthly(outputs["archive"])
    assert len(from_forecast) >= 6
    assert set(from_forecast) == set(from_plan) == set(from_report) == set(from_archive)
    for month, (p50, p90) in from_forecast.items():
        assert p90 > p50 > 0
        assert from_report[month] == pytest.approx((p50, p90), rel=1e-12)
        assert from_archive[month] == pytest.approx((p50, p90), rel=1e-12)
        assert from_plan[month] == pytest.approx((p50, p90), abs=0.05)  # the plan table rounds to 0.1 req/s


def test_the_events_are_in_every_output(outputs):
    """Black Friday doubles its day and the launch lifts every day after it, in the one forecast."""
    fc = {r["ds"]: r["yhat"] for r in outputs["forecast"]["forecast"]}
    assert fc["2026-11-27"] > 1.6 * fc["2026-11-26"]
    assert fc["2027-01-15"] > 1.2 * fc["2027-01-14"]
    archived = dict(zip(outputs["archive"]["forecast"]["ds"], outputs["archive"]["forecast"]["p50_rps"], strict=True))
    assert archived["2026-11-27"] == pytest.approx(fc["2026-11-27"] * outputs["forecast"]["peak_rps_per_unit"])


def test_every_output_carries_the_same_runway_act_by_and_total_cost(outputs):
    plan, report, archive = outputs["plan"], outputs["report"]["plan"], outputs["archive"]
    assert plan["runway"]["safe_exceeded_date"] is not None
    assert plan["runway"]["safe_exceeded_date"] == report["runway_date"] == archive["runway_date"]
    assert plan["act_by"] is not None
    assert plan["act_by"] == report["act_by"] == archive["act_by"]
    assert plan["cost"]["total_planned"] == pytest.approx(report["total_cost_planned"], rel=1e-12)
    assert plan["cost"]["total_planned"] == pytest.approx(archive["total_cost"], rel=1e-12)
    assert [t["order_by"] for t in plan["dated_triggers"]] == [t["order_by"] for t in archive["triggers"]]


def test_the_budget_is_the_planned_fleet_not_the_instances_needed(outputs):
    cost = outputs["plan"]["cost"]
    assert cost["total_planned"] >= cost["total_p90"] > cost["total_p50"] > 0
    assert cost["options"][0]["name"] == "all on-demand"
    assert cost["options"][0]["total"] == pytest.approx(cost["total_planned"])
    month = outputs["plan"]["months"][0]
    assert month["cost_planned"] == pytest.approx(month["planned_fleet"] * 0.096 * 730 * month["days"]
                                                  / _days_in(month["month"]), abs=0.01)


def test_the_report_names_the_forecast_model_and_shows_its_backtest_error(outputs):
    forecast = outputs["report"]["forecast"]
    assert forecast["model"] == "holt_winters"
    backtest = next(s for s in outputs["forecast"]["backtest"] if s["model"] == "holt_winters")
    assert forecast["backtest_mape"] == pytest.approx(backtest["mape_pct"] / 100.0)
    assert forecast["backtest_mase"] == pytest.approx(backtest["mase"])
    assert "holt_winters" in outputs["html"] and "Backtest accuracy (MAPE)" in outputs["html"]


def _days_in(month: str) -> int:
    first = date.fromisoformat(f"{month}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (following - first).days
