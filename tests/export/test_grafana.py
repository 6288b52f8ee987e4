"""capplan export grafana: the dashboard JSON passes the documented schema and carries the plan's figures."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from capplan.app.planning import build_plan
from capplan.cli.app import app
from capplan.config import load_config
from capplan.export.grafana import DASHBOARD_SCHEMA, dashboard
from capplan.models.alerts import total_rps_expr
from capplan.app.rules import metric_names

CONFIG = Path(__file__).resolve().parents[2] / "capplan.toml"


@pytest.fixture(scope="module")
def board():
    cfg = load_config(CONFIG)
    return dashboard(build_plan(cfg), cfg.service.objectives, metric_names(cfg)), cfg


def test_dashboard_passes_the_schema_and_panel_ids_are_unique(board):
    model, _ = board
    jsonschema.validate(model, DASHBOARD_SCHEMA)
    ids = [p["id"] for p in model["panels"]]
    assert len(ids) == len(set(ids))


def test_schema_rejects_a_panel_without_grid_position(board):
    model = json.loads(json.dumps(board[0]))
    del model["panels"][0]["gridPos"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(model, DASHBOARD_SCHEMA)


def test_demand_panel_holds_actual_and_the_whole_forecast(board):
    model, cfg = board
    report = build_plan(cfg)
    demand = model["panels"][0]["targets"]
    assert demand[0]["expr"] == total_rps_expr(metric_names(cfg))
    rows = demand[1]["csvContent"].splitlines()
    assert len(rows) == len(report.plan.demand.ds) + 1
    assert float(rows[1].split(",")[2]) == pytest.approx(report.plan.demand.p90_rps[0], abs=0.05)


def test_per_instance_panel_draws_the_trigger_line(board):
    model, _ = board
    steps = model["panels"][1]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1]["value"] == pytest.approx(224.0)


def test_burn_rate_panel_has_both_windows_per_slo(board):
    model, cfg = board
    assert len(model["panels"][2]["targets"]) == 2 * len(cfg.service.objectives)


def test_export_grafana_writes_json(tmp_path):
    result = CliRunner().invoke(app, ["export", "grafana", "--config", str(CONFIG), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads((tmp_path / "grafana-dashboard.json").read_text()), DASHBOARD_SCHEMA)
