"""One spike recovery and one pair of soak slopes per run: CLI summary, run.json, analyze and the report agree.

Real runs: Locust against the bundled demo target on 127.0.0.1, a few seconds each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.loadtest.target import TargetSettings, start_target
from capplan.models.drift import DriftAssessment, SpikeRecovery, format_recovery, format_slope
from capplan.report import run_facts
from capplan.store.runs import read_run

pytestmark = pytest.mark.slow

_CLI = [sys.executable, "-c", "from capplan.cli.app import main; main()"]


def _loadtest(*args: str) -> tuple[str, Path]:
    out = Path(args[args.index("--out") + 1])
    result = subprocess.run([*_CLI, "loadtest", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (run_dir,) = [p for p in out.iterdir() if (p / "run.json").is_file()]
    return " ".join(result.stdout.split()), run_dir


def _analyze(run_dir: Path) -> tuple[str, dict]:
    human = CliRunner().invoke(app, ["analyze", str(run_dir)])
    as_json = CliRunner().invoke(app, ["analyze", str(run_dir), "--json"])
    assert human.exit_code == 0 and as_json.exit_code == 0, human.output + as_json.output
    (found,) = json.loads(as_json.output)["runs"]
    return " ".join(human.output.split()), found


def _highlights(run_dir: Path) -> dict[str, str]:
    return dict(run_facts.scenario_facts(read_run(run_dir)).highlights)


def test_a_real_spike_run_shows_one_recovery_time_everywhere(tmp_path):
    with start_target(TargetSettings(port=0, slots=4, service_ms=10)) as target:
        cli, run_dir = _loadtest("spike", "--host", target.url, "--users", "2", "--multiplier", "6",
                                 "--spike-before", "3s", "--spike-window", "2s", "--spike-after", "4s",
                                 "--recovery-tolerance", "0.5", "--quiet", "--out", str(tmp_path))
    stored = read_run(run_dir).meta["summary"]["spike"]
    rec = SpikeRecovery.from_dict(stored)
    print(f"\nspike: recovery {rec.recovery_s} s (tolerance {rec.tolerance}), pre p95 {rec.pre_p95_ms:.1f} ms, "
          f"peak p95 {rec.peak_p95_ms:.1f} ms")
    assert rec.tolerance == 0.5, "the run's own --recovery-tolerance, not a fixed 0.2"
    human, found = _analyze(run_dir)
    assert found["spike"]["recovery_s"] == stored["recovery_s"] and found["source"] == "run.json"
    text = format_recovery(rec)
    assert text in cli and text in human
    assert _highlights(run_dir)["Recovery"].startswith(text)
    assert "(p95 within 50% of before)" in _highlights(run_dir)["Recovery"]


def test_a_real_soak_run_shows_one_p95_and_one_rss_slope_everywhere_and_draws_them(tmp_path):
    with start_target(TargetSettings(port=0, slots=4, service_ms=5, leak_mb_per_min=300)) as target:
        cli, run_dir = _loadtest("soak", "--host", target.url, "--users", "2", "--ramp", "1s",
                                 "--soak-duration", "6s", "--target-pid", str(target.pid), "--quiet",
                                 "--out", str(tmp_path))
    run = read_run(run_dir)
    drift = DriftAssessment.from_dict(run.meta["summary"]["soak"])
    p95_text, rss_text = format_slope(drift.p95, "ms"), format_slope(drift.rss, "MB")
    print(f"\nsoak: p95 {p95_text}, RSS {rss_text}")
    human, found = _analyze(run_dir)
    for key in ("p95", "rss"):
        assert found["soak"]["trends"][key]["slope_per_hour"] == run.meta["summary"]["soak"]["trends"][key][
            "slope_per_hour"]
    for shown in (cli, human):
        assert p95_text in shown and rss_text in shown
    highlights = _highlights(run_dir)
    assert (highlights["p95 trend"], highlights["Target memory trend"]) == (p95_text, rss_text)

    figure = run_facts.soak_figure(run)
    lines = {tr.name: tr for tr in figure.data if "trend" in tr.name}
    assert set(lines) == {f"p95 trend ({p95_text})", f"RSS trend ({rss_text})"}
    for trace, trend in ((lines[f"p95 trend ({p95_text})"], drift.p95), (lines[f"RSS trend ({rss_text})"], drift.rss)):
        x = np.asarray(trace.x, dtype=float)
        slope_per_s = (trace.y[1] - trace.y[0]) / (x[1] - x[0])
        assert slope_per_s == pytest.approx(trend.slope_per_s, rel=1e-9, abs=1e-12)
        assert trace.y[0] == pytest.approx(trend.intercept + trend.slope_per_s * x[0])
    assert figure.layout.yaxis2.tickformat == ",.1f"
    embedded = json.loads(run_facts.soak_chart(run).figure_json)
    assert any(tr["name"] == f"p95 trend ({p95_text})" for tr in embedded["data"])
