"""`capplan rules`: a promtool-valid rule file, written atomically, printed without --out."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from capplan.cli.app import app

runner = CliRunner()
REPO_ROOT = Path(__file__).resolve().parents[2]
PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package prometheus)")
def test_rules_for_the_sample_config_pass_promtool_check(tmp_path):
    out = tmp_path / "alerts" / "capplan.rules.yml"
    result = runner.invoke(app, ["rules", "--config", str(REPO_ROOT / "capplan.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote 10 alerting rules to ")
    check = subprocess.run([PROMTOOL, "check", "rules", str(out)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert list(tmp_path.joinpath("alerts").iterdir()) == [out]  # no temp file left behind


def test_rules_without_out_prints_yaml_with_both_groups():
    result = runner.invoke(app, ["rules", "--config", str(REPO_ROOT / "capplan.toml")])
    assert result.exit_code == 0, result.output
    groups = yaml.safe_load(result.output)["groups"]
    assert [g["name"] for g in groups] == ["demo-service-capacity", "demo-service-slo-burn-rate"]
    alerts = {r["alert"] for g in groups for r in g["rules"]}
    assert {"PerInstanceRpsScaleOut", "SloErrorRateBudgetBurnFast", "SloErrorRateBudgetBurnSlow",
            "DatabaseDiskForecastExhaustion"} <= alerts


def test_rules_to_an_unwritable_path_exits_4_like_every_output_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["rules", "--config", str(REPO_ROOT / "capplan.toml"), "--out",
                                 str(blocker / "rules.yml")])
    assert result.exit_code == 4 and result.output.startswith("Error: cannot write the rule file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
