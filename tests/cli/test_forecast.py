"""``capplan forecast`` in-process: outputs, what-if, backtest, many series, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.store.samples import SampleSpec, generate_sample_history

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "sample_traffic_daily.csv"


@pytest.fixture()
def short_history(tmp_path):
    path = tmp_path / "short.csv"
    generate_sample_history(SampleSpec(days=120)).to_csv(path, index=False)
    return path


def test_json_has_one_row_per_future_day_with_the_contract_keys(short_history):
    result = runner.invoke(app, ["forecast", str(short_history), "--horizon", "30d", "--json", "--model", "prophet"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["interval"] == 0.8 and payload["resolution"] == "daily"
    assert [row["ds"] for row in payload["forecast"]] == [
        d.date().isoformat() for d in pd.date_range("2023-03-01", periods=30)]
    assert all(r["yhat_lower"] <= r["yhat"] <= r["yhat_upper"] for r in payload["forecast"])
    assert payload["model"] == "prophet" and payload["peak_rps_per_unit"] == 1.0


def test_csv_prints_ds_yhat_and_bounds(short_history):
    result = runner.invoke(app, ["forecast", str(short_history), "--horizon", "2w", "--csv", "--model",
                                 "seasonal_naive"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "ds,yhat,yhat_lower,yhat_upper" and len(lines) == 15


def test_default_output_is_a_monthly_peak_table(short_history):
    result = runner.invoke(app, ["forecast", str(short_history), "--horizon", "70d", "--model", "holt_winters"])
    assert result.exit_code == 0, result.output
    assert "P90 peak" in result.stdout and "2023-03 " in result.stdout
    # 70 days from 2023-03-01: March and April whole, 9 days of May, labelled as partial.
    assert "2023-04 " in result.stdout and "2023-05 (9 d)" in result.stdout


def test_what_if_compounds_growth_with_no_history():
    result = runner.invoke(app, ["forecast", "--from-rate", "1200", "--growth", "15%/month", "--horizon", "366d",
                                 "--start", "2026-01-01", "--multiplier", "1.5@2026-06-01", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["ds"]: r["yhat"] for r in json.loads(result.stdout)["forecast"]}
    assert rows["2026-01-01"] == pytest.approx(1200.0)
    # 12 months of 730 h = 365 days later; ×1.5 from June on.
    assert rows["2027-01-01"] == pytest.approx(1200 * 1.15 ** 12 * 1.5, rel=1e-9)


def test_plot_is_a_self_contained_offline_page(short_history, tmp_path):
    out = tmp_path / "plot.html"
    result = runner.invoke(app, ["forecast", str(short_history), "--horizon", "30d", "--model", "seasonal_naive",
                                 "--plot", str(out), "--event", "promo@2023-03-10x1.3"])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "<script src=" not in html and "Plotly.newPlot" in html and len(html) > 1_000_000


def test_backtest_prints_scores_and_the_winner(short_history):
    result = runner.invoke(app, ["forecast", str(short_history), "--backtest", "--horizon", "14d", "--folds", "3",
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["backtests"][0]
    assert {s["model"] for s in report["scores"]} == {"prophet", "seasonal_naive", "seasonal_median", "ets", "theta",
                                                      "mstl"}
    assert report["winner"] == min(report["scores"], key=lambda s: s["mase"])["model"]
    assert len(report["origins"]) == 3


@pytest.mark.parametrize("args, message", [
    (["--horizon", "10x"], "--horizon must be a number and a unit"),
    (["--json", "--csv"], "pick one output format"),
    (["--model", "arima"], "--model must be one of"),
    (["--peak", "p200"], "--peak must be max"),
    (["--country", "XX"], "not a supported holiday calendar"),
    (["--event", "launch"], "--event must look like"),
    (["--growth-model", "cubic"], "--growth-model must be linear, logistic or flat"),
])
def test_bad_flags_exit_2_with_one_line(short_history, args, message):
    result = runner.invoke(app, ["forecast", str(short_history), *args])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_what_if_needs_both_rate_and_growth():
    result = runner.invoke(app, ["forecast", "--growth", "15%/month"])
    assert result.exit_code == 2 and "needs both --from-rate and --growth" in result.stderr


def test_no_history_at_all_is_a_usage_error():
    result = runner.invoke(app, ["forecast"])
    assert result.exit_code == 2 and "no history given" in result.stderr


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("ds,y\n2025-01-01,5\n", "at least 28 days"),
    ("ds,y\n" + "".join(f"2025-01-{d:02d},{-d}\n" for d in range(1, 31)), "negative"),
    ("when,amount\n2025-01-01,1\n", "no time column"),
])
def test_bad_data_exits_3_and_writes_no_plot(tmp_path, text, message):
    source, out = tmp_path / "bad.csv", tmp_path / "plot.html"
    source.write_text(text)
    result = runner.invoke(app, ["forecast", str(source), "--plot", str(out)])
    assert result.exit_code == 3
    assert message in result.stderr and "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == [source]


def _rows(days: int, start: str = "2025-01-01") -> list[str]:
    return [f"{d.date()},{100 + i % 7}" for i, d in enumerate(pd.date_range(start, periods=days))]


@pytest.mark.parametrize("rows, message", [
    (_rows(40)[:10] + ["2025-01-10,999"] + _rows(40)[10:], "two different values for one timestamp"),
    (_rows(40)[:5] + ["2025-01-06,lots"] + _rows(40)[6:], "non-numeric value, 'lots'"),
    (["2025-01-01T00:00:00Z,5"] + [f"{r.split(',')[0]}T00:00:00,5" for r in _rows(40)[1:]],
     "mixes timestamps with and without a time zone"),
    (_rows(40)[:3] + ["yesterday,5"] + _rows(40)[4:], "not a timestamp, 'yesterday'"),
    (_rows(40)[:8] + ["2025-01-09,inf"] + _rows(40)[9:], "infinite value"),
    (["2025-01-01,1", "2025-02-01,2", "2025-03-01,3"], "daily or finer"),
])
def test_refused_histories_exit_3_with_one_line_and_no_traceback(tmp_path, rows, message):
    source = tmp_path / "bad.csv"
    source.write_text("ds,y\n" + "\n".join(rows) + "\n")
    result = runner.invoke(app, ["forecast", str(source), "--model", "seasonal_naive", "--json"])
    assert result.exit_code == 3, result.output
    assert message in result.stderr and result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_repairable_histories_are_forecast_with_warnings_on_stderr(tmp_path):
    rows = _rows(60)
    rows[20], rows[21] = rows[21], rows[20]          # unsorted
    rows[30] = rows[30].split(",")[0] + ","          # NaN value
    del rows[40:45]                                   # a five-day gap
    rows.append(rows[10])                             # exact duplicate
    source = tmp_path / "messy.csv"
    source.write_text("ds,y\n" + "\n".join(rows) + "\n")
    result = runner.invoke(app, ["forecast", str(source), "--model", "seasonal_naive", "--horizon", "7d", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["forecast"]) == 7
    for expected in ("not in order", "no value (NaN)", "longest gap 5 days", "exact duplicate"):
        assert expected in result.stderr
    assert all(line.startswith("warning: messy: ") for line in result.stderr.strip().splitlines())


def test_too_short_history_exits_3_saying_how_much_is_needed(tmp_path):
    path = tmp_path / "three-weeks.csv"
    generate_sample_history(SampleSpec(days=21)).to_csv(path, index=False)
    result = runner.invoke(app, ["forecast", str(path)])
    assert result.exit_code == 3 and "at least 28 days of history, got 21" in result.stderr


@pytest.mark.slow
def test_a_directory_of_series_is_forecast_in_worker_processes(tmp_path):
    for seed in (1, 2, 3):
        generate_sample_history(SampleSpec(days=90, seed=seed)).to_csv(tmp_path / f"svc{seed}.csv", index=False)
    result = runner.invoke(app, ["forecast", str(tmp_path), "--horizon", "14d", "--json", "--jobs", "2"])
    assert result.exit_code == 0, result.output
    series = json.loads(result.stdout)["series"]
    assert [s["name"] for s in series] == ["svc1", "svc2", "svc3"]
    assert all(len(s["forecast"]) == 14 for s in series)


def test_an_error_in_one_worker_series_is_reported_cleanly(tmp_path):
    generate_sample_history(SampleSpec(days=60)).to_csv(tmp_path / "good.csv", index=False)
    (tmp_path / "bad.csv").write_text("ds,y\n2025-01-01,x\n2025-01-02,1\n")
    result = runner.invoke(app, ["forecast", str(tmp_path), "--jobs", "2"])
    assert result.exit_code == 3 and "non-numeric value, 'x'" in result.stderr


def _config(tmp_path, demand: str) -> Path:
    """The repository's annotated capplan.toml with its [demand] section replaced."""
    text = (Path(__file__).resolve().parents[2] / "capplan.toml").read_text()
    start = text.index("[demand]")
    end = text.index("[pricing]")
    path = tmp_path / "capplan.toml"
    path.write_text(text[:start] + demand + "\n" + text[end:])
    return path


def test_config_what_if_applies_spans_and_lasting_steps(tmp_path):
    demand = """[demand]
from_rate = 100
growth = "0%/month"
start = 2027-01-01
horizon = "90d"
[[demand.events]]
name = "campaign"
start = 2027-01-10
end = 2027-01-11
multiplier = 2.0
[[demand.events]]
name = "launch"
start = 2027-02-01
multiplier = 1.5
"""
    result = runner.invoke(app, ["forecast", "--config", str(_config(tmp_path, demand)), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["ds"]: r["yhat"] for r in json.loads(result.stdout)["forecast"]}
    assert [rows[d] for d in ("2027-01-09", "2027-01-10", "2027-01-11", "2027-01-12")] == [100, 200, 200, 100]
    assert rows["2027-01-31"] == 100 and rows["2027-02-01"] == 150 and rows["2027-03-31"] == 150


def test_config_history_source_is_forecast(tmp_path, short_history):
    demand = f"""[demand]
source = "{short_history}"
horizon = "21d"
model = "seasonal_naive"
"""
    result = runner.invoke(app, ["forecast", "--config", str(_config(tmp_path, demand)), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["model"] == "seasonal_naive" and len(payload["forecast"]) == 21


def test_python_dash_m_capplan_runs_the_forecast_command(tmp_path, short_history):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "capplan", "forecast", str(short_history), "--model",
                             "seasonal_naive", "--horizon", "7d", "--csv"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "ds,yhat,yhat_lower,yhat_upper" and len(result.stdout.splitlines()) == 8
