"""``capplan report`` in-process: formats, output path, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from capplan.cli.app import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _config(tmp_path: Path, name: str = "svc") -> Path:
    text = (REPO / "capplan.toml").read_text().replace('name = "demo-service"', f"name = {json.dumps(name)}")
    text = text.replace('output = "reports/capacity.html"', 'output = "out/capacity.html"')
    path = tmp_path / "capplan.toml"
    path.write_text(text)
    return path


def test_report_writes_html_to_the_configured_output(tmp_path):
    result = runner.invoke(app, ["report", "--config", str(_config(tmp_path))])
    assert result.exit_code == 0, result.output
    page = tmp_path / "out" / "capacity.html"
    assert f"Report written to {page}" in result.output
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_report_md_prints_the_verdict_for_a_ticket(tmp_path):
    result = runner.invoke(app, ["report", "--config", str(_config(tmp_path)), "--format", "md"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("## Capacity report: svc")
    assert "**Act" in result.output or "**OK" in result.output


def test_report_json_has_verdict_and_plan(tmp_path):
    result = runner.invoke(app, ["report", "--config", str(_config(tmp_path)), "--format", "json"])
    body = json.loads(result.output)
    assert body["verdict"]["status"] in {"ok", "act"} and body["plan"]["current_instances"] == 6


def test_report_without_runs_says_so_in_the_sections(tmp_path):
    runner.invoke(app, ["report", "--config", str(_config(tmp_path)), "--out", str(tmp_path / "r.html")])
    html = (tmp_path / "r.html").read_text()
    assert "No load-test runs were found" in html and "No spike run was found" in html


def test_unknown_format_is_a_usage_error_with_the_fix(tmp_path):
    result = runner.invoke(app, ["report", "--config", str(_config(tmp_path)), "--format", "pdf"])
    assert result.exit_code == 2
    assert "unknown report format, 'pdf', use --format html, md or json" in result.output


def test_missing_config_is_a_usage_error_and_writes_nothing(tmp_path):
    result = runner.invoke(app, ["report", "--config", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "config file not found" in result.output
    assert not (tmp_path / "r.html").exists()


def test_unwritable_out_is_a_report_error_exit_4(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    result = runner.invoke(app, ["report", "--config", str(_config(tmp_path)), "--out", str(blocker / "r.html")])
    assert result.exit_code == 4 and "choose a writable --out path" in result.output


def test_bad_history_is_an_input_data_error_exit_3(tmp_path):
    cfg = _config(tmp_path)
    (tmp_path / "hist.csv").write_text("ds,y\nnot-a-date,abc\n")
    text = cfg.read_text().replace('# source = "datasets/sample_traffic_daily.csv"', 'source = "hist.csv"')
    text = text.replace("from_rate = 1200", "").replace('growth = "6%/month"', "")
    cfg.write_text(text)
    result = runner.invoke(app, ["report", "--config", str(cfg), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 3, result.output
    assert result.output.startswith("Error: ") and not (tmp_path / "r.html").exists()


def test_script_named_service_is_escaped_in_html(tmp_path):
    cfg = _config(tmp_path, "<script>alert(1)</script>")
    runner.invoke(app, ["report", "--config", str(cfg), "--out", str(tmp_path / "r.html")])
    html = (tmp_path / "r.html").read_text()
    assert "Capacity report: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
