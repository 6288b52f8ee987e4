"""``capplan review`` in-process: first review archives, the next one measures the forecast error."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capplan.cli.app import app

runner = CliRunner()
START = date(2025, 1, 1)
CUT_DAYS = 400
CONFIG = """
[service]
name = "checkout"
slos = ["p95<300ms"]
[capacity]
per_instance_rps = 400
[fleet]
current_count = 4
minimum = 2
[demand]
source = "history.csv"
model = "linear_trend"
horizon = "6mo"
[review]
output = "out/review.html"
archive_dir = "archive"
"""


def _history(folder: Path, days: int, uplift_after_cut: float = 1.0) -> None:
    """A straight line, 100 + 1 req/s per day: a linear trend forecasts it exactly."""
    rows = ["ds,peak_rps"]
    for i in range(days):
        value = (100.0 + i) * (uplift_after_cut if i >= CUT_DAYS else 1.0)
        rows.append(f"{(START + timedelta(days=i)).isoformat()},{value:.3f}")
    (folder / "history.csv").write_text("\n".join(rows) + "\n")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "capplan.toml"
    path.write_text(CONFIG)
    _history(tmp_path, CUT_DAYS)
    return path


def _review(config: Path, *args: str):
    return runner.invoke(app, ["review", "--config", str(config), *args])


def test_the_first_review_archives_the_plan_and_says_there_is_nothing_to_compare(config):
    result = _review(config)
    assert result.exit_code == 0, result.output
    assert "No archived plan to compare with yet" in result.output
    assert len(list((config.parent / "archive").glob("plan-*.json"))) == 1
    assert (config.parent / "out" / "review.html").read_text().startswith("<!DOCTYPE html>")


def test_a_forecast_that_came_true_has_no_error(config):
    assert _review(config).exit_code == 0
    _history(config.parent, CUT_DAYS + 30)
    result = _review(config, "--format", "json", "--no-archive")
    assert result.exit_code == 0, result.output
    review = json.loads(result.output)["review"]
    assert review["previous"]["as_of"] == (START + timedelta(days=CUT_DAYS)).isoformat()
    assert review["forecast_error"]["days"] == 30
    assert review["forecast_error"]["mape"] == pytest.approx(0.0, abs=0.005)
    assert review["forecast_error"]["bias"] == pytest.approx(0.0, abs=0.005)


def test_traffic_above_the_forecast_shows_as_positive_bias_and_low_p90_coverage(config):
    assert _review(config).exit_code == 0
    _history(config.parent, CUT_DAYS + 30, uplift_after_cut=1.2)
    result = _review(config, "--format", "json", "--no-archive")
    assert result.exit_code == 0, result.output
    review = json.loads(result.output)["review"]
    # actual = 1.2 × forecast on every compared day: |A − F| / A = 0.2 / 1.2
    assert review["forecast_error"]["mape"] == pytest.approx(0.2 / 1.2, abs=0.01)
    assert review["forecast_error"]["bias"] == pytest.approx(0.2 / 1.2, abs=0.01)
    assert review["forecast_error"]["upper_coverage"] < 0.5


def test_the_markdown_review_is_a_ticket_summary(config):
    assert _review(config).exit_code == 0
    _history(config.parent, CUT_DAYS + 30, uplift_after_cut=1.2)
    result = _review(config, "--format", "md", "--no-archive")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("## Monthly capacity review: checkout")
    assert "### Forecast against actual" in result.output
    assert "MAPE" in result.output and "traffic above the forecast" in result.output


def test_no_archive_leaves_the_archive_untouched(config):
    result = _review(config, "--no-archive")
    assert result.exit_code == 0, result.output
    assert not (config.parent / "archive").exists()


def test_a_corrupt_archived_plan_is_a_one_line_input_error(config):
    bad = config.parent / "plan-bad.json"
    bad.write_text("{not json")
    result = _review(config, "--previous", str(bad))
    assert result.exit_code == 3
    assert result.output.startswith("Error: cannot read archived plan") and str(bad) in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_unknown_format_is_a_usage_error(config):
    result = _review(config, "--format", "pdf")
    assert result.exit_code == 2
    assert "unknown report format" in result.output


def test_a_review_that_cannot_be_written_archives_nothing(config):
    blocker = config.parent / "out"
    blocker.write_text("a file where the output directory should be")
    result = _review(config)
    assert result.exit_code == 4 and result.output.startswith("Error: cannot write the report")
    assert not (config.parent / "archive").exists()
