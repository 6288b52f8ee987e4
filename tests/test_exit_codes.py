"""One exit code per kind of fault, whichever command or layer finds it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.errors import ConfigError, ReportError
from capplan.models.saturation import estimate_saturation
from capplan.store.measurements import load_measurements

runner = CliRunner()
STEPS = "concurrency,throughput,latency_ms\n1,10,100\n2,20,100\n4,40,100\n8,70,114\n16,90,178\n32,100,320\n"
PLAN = """
[capacity]
{capacity}
[demand]
from_rate = 100
growth = "5%/month"
start = 2027-01-01
horizon = "6mo"
"""


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "m.csv"
    path.write_text(STEPS)
    return path


def test_a_bad_target_utilization_is_exit_2_from_the_flag_the_config_and_the_model(tmp_path):
    measurements = _csv(tmp_path)
    flag = runner.invoke(app, ["analyze", str(measurements), "--target-utilization", "1.5"])
    config = tmp_path / "capplan.toml"
    config.write_text(PLAN.format(capacity=f'runs = ["{measurements}"]\ntarget_utilization = 1.5'))
    from_config = runner.invoke(app, ["plan", "--config", str(config)])
    assert (flag.exit_code, from_config.exit_code) == (2, 2), (flag.output, from_config.output)
    with pytest.raises(ConfigError, match="target utilisation must be in"):
        estimate_saturation(load_measurements([measurements]), ["p95<300ms"], target_utilization=1.5)


@pytest.mark.parametrize("command", ["report", "rules", "review"])
def test_an_unwritable_output_is_exit_4_in_every_command(tmp_path, command):
    config = tmp_path / "capplan.toml"
    config.write_text(PLAN.format(capacity="per_instance_rps = 300"))
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    target = str(blocker / "out.html")
    result = runner.invoke(app, [command, "--config", str(config), "--out", target])
    assert result.exit_code == ReportError.exit_code == 4, result.output
    assert result.output.startswith("Error: cannot write")


@pytest.mark.parametrize("exporter", ["k8s", "grafana", "recording-rules"])
def test_an_unwritable_export_directory_is_exit_4_like_every_output(tmp_path, exporter):
    config = tmp_path / "capplan.toml"
    config.write_text(PLAN.format(capacity="per_instance_rps = 300"))
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = runner.invoke(app, ["export", exporter, "--config", str(config), "--out", str(blocker / "deploy")])
    assert result.exit_code == ReportError.exit_code == 4, result.output
    assert result.output.startswith("Error: cannot write the export")
