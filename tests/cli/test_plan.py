"""`capplan plan` in-process: table, --json, --csv, and one-line errors with exit 2."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from capplan.cli.app import app

runner = CliRunner()
CONFIG = """
[capacity]
per_instance_rps = 250
[fleet]
current_count = 6
minimum = 3
[demand]
from_rate = 1000
growth = "0%/month"
start = 2027-01-01
horizon = "12mo"
"""


def _config(tmp_path: Path, text: str = CONFIG) -> str:
    path = tmp_path / "capplan.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_plan_prints_a_month_table_and_recommendations(tmp_path):
    result = runner.invoke(app, ["plan", "--config", _config(tmp_path), "--months", "6"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("month"))
    assert [line.split()[0] for line in lines[header + 1: header + 7]] == [
        "2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06"]
    assert "add 2 × m6i.large by 2026-12-18" in result.output
    assert "1y reserved baseline + on-demand peaks" in result.output


def test_plan_json_has_the_plan_object(tmp_path):
    result = runner.invoke(app, ["plan", "--config", _config(tmp_path), "--json", "--months", "12"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)["plan"]
    assert data["capacity"] == {"max_throughput_rps": 250.0, "safe_throughput_rps": 200.0,
                                "source": "capplan.toml [capacity] per_instance_rps"}
    assert len(data["months"]) == 12
    assert data["months"][0]["cost_p90"] == 420.48  # 6 × 0.096 × 730


def test_plan_csv_is_a_month_by_month_budget(tmp_path):
    result = runner.invoke(app, ["plan", "--config", _config(tmp_path), "--csv", "--months", "24"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 12  # the horizon is 12 months, fewer than asked
    assert rows[0]["month"] == "2027-01" and float(rows[0]["cost_p90"]) == 420.48
    assert {"cost_headroom", "cost_redundancy", "planned_fleet", "instances_p50"} <= set(rows[0])


def test_plan_rejects_json_and_csv_together(tmp_path):
    result = runner.invoke(app, ["plan", "--config", _config(tmp_path), "--json", "--csv"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: --json and --csv both given")


def test_plan_rejects_an_unsupported_month_count(tmp_path):
    result = runner.invoke(app, ["plan", "--config", _config(tmp_path), "--months", "7"])
    assert result.exit_code == 2 and "--months must be 6, 12 or 24" in result.output


def test_plan_with_wrong_unit_exits_2_naming_the_field(tmp_path):
    result = runner.invoke(app, ["plan", "--config", _config(tmp_path, CONFIG.replace('"12mo"', '"12 mo"'))])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith("Error: capplan.toml: demand.horizon ")


def test_plan_with_missing_config_exits_2(tmp_path):
    result = runner.invoke(app, ["plan", "--config", str(tmp_path / "absent.toml")])
    assert result.exit_code == 2 and "config file not found" in result.output


def test_plan_exits_1_when_the_slo_breaks_within_the_lead_time(tmp_path):
    """Fleet 6, N+1 → 5 usable × 250 = 1,250 req/s max; demand 1,300 req/s from day 1 breaks it on
    2027-01-01, while a 14-day lead time delivers on 2027-01-15 at the earliest."""
    text = CONFIG.replace("from_rate = 1000", "from_rate = 1300")
    result = runner.invoke(app, ["plan", "--config", _config(tmp_path, text), "--months", "6"])
    assert result.exit_code == 1
    assert "2027-01" in result.output  # the plan is still printed
    assert result.output.splitlines()[-1].startswith(
        "Error: the current fleet breaks its SLO before new capacity can arrive, P90 demand exceeds 1,250 req/s "
        "on 2027-01-01")
