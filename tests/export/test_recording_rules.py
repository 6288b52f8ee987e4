"""capplan export recording-rules: SLI recording rules that real promtool accepts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.config import load_config
from capplan.export.recording_rules import recording_rules, sli_windows
from capplan.models.alerts import burn_rate_rules
from capplan.app.rules import metric_names

CONFIG = Path(__file__).resolve().parents[2] / "capplan.toml"


def test_sli_windows_are_the_burn_rate_windows():
    assert sli_windows() == ("5m", "30m", "1h", "6h", "3d")


def test_every_burn_rate_alert_ratio_has_a_recording_rule():
    cfg = load_config(CONFIG)
    names = metric_names(cfg)
    recorded = {r["expr"] for g in recording_rules("svc", cfg.service.objectives, names)["groups"] for r in g["rules"]}
    for alert in burn_rate_rules(cfg.service.objectives, names):
        pieces = [r for r in recorded if r in alert.expr]
        assert len(pieces) >= 2, alert.alert  # its long and short window ratios are both recorded


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (apt-get install prometheus)")
def test_promtool_accepts_the_recording_rules(tmp_path):
    result = CliRunner().invoke(app, ["export", "recording-rules", "--config", str(CONFIG), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    path = tmp_path / "recording-rules.yaml"
    check = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    rules = [r for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]
    assert f"SUCCESS: {len(rules)} rules found" in check.stdout


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (apt-get install prometheus)")
def test_promtool_rejects_a_broken_rule_file(tmp_path):
    cfg = load_config(CONFIG)
    rules = recording_rules("svc", cfg.service.objectives, metric_names(cfg))
    rules["groups"][0]["rules"][0]["expr"] += " +"  # a dangling operator
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(rules))
    assert subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, timeout=60).returncode != 0
