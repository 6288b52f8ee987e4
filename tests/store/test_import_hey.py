"""hey -o csv → run: real hey against the demo target, and damaged files."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.errors import InputDataError
from capplan.store.import_hey import concurrency_from_name, import_hey_csv
from capplan.store.import_samples import ImportOptions
from conftest import LEVELS
from import_tools import run_hey

HEADER = "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset"


def _hey_csv(path, rows):
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _rows(seconds, per_second=20, status=200):
    return [f"0.0100,0.0000,0.0000,0.0000,0.0099,0.0001,{status},{s + i / per_second:.4f}"
            for s in range(seconds) for i in range(per_second)]


def test_concurrency_comes_from_the_file_name():
    from pathlib import Path

    assert concurrency_from_name(Path("hey-c16.csv")) == 16
    assert concurrency_from_name(Path("c4.csv")) == 4
    assert concurrency_from_name(Path("results.csv")) is None


def test_truncated_hey_csv_names_the_line(tmp_path):
    path = _hey_csv(tmp_path / "hey-c2.csv", _rows(3))
    text = path.read_text()
    path.write_text(text[: text.rstrip().rfind(",") - 3])  # cut inside the last row's offset
    with pytest.raises(InputDataError, match=r"hey file is damaged on line 61, "):
        import_hey_csv([path], options=ImportOptions(root=tmp_path / "runs"))


def test_hey_file_without_concurrency_is_an_input_error(tmp_path):
    path = _hey_csv(tmp_path / "results.csv", _rows(2))
    result = CliRunner().invoke(app, ["loadtest", "import", str(path), "--format", "hey", "--out", str(tmp_path)])
    assert result.exit_code == 3, result.output
    assert "--concurrency" in result.stderr


def test_hey_files_become_one_step_each_and_5xx_are_failures(tmp_path):
    a = _hey_csv(tmp_path / "a.csv", _rows(4))
    b = _hey_csv(tmp_path / "b.csv", _rows(4, status=503)[:40] + _rows(4)[40:])
    run = import_hey_csv([a, b], concurrency=[1, 3], options=ImportOptions(root=tmp_path / "runs"))
    steps = pd.read_parquet(run / "steps.parquet")
    assert steps["users"].tolist() == [1, 3]
    assert steps["throughput_rps"].tolist() == [20.0, 10.0]  # steady seconds 1–2; b's second 1 is all 503
    meta = json.loads((run / "run.json").read_text())
    assert meta["summary"]["errors"] == 40


@pytest.mark.skipif(shutil.which("hey") is None, reason="hey is not installed (apt-get install hey)")
@pytest.mark.slow
@pytest.mark.flaky(reruns=1, reruns_delay=2)  # real load on 2 shared cores, as tests/conftest.py does
def test_hey_runs_per_concurrency_analyze_to_wrk_max_throughput(measured_target, tmp_path):
    files = run_hey(measured_target.url, tmp_path, LEVELS, hold_s=3)
    run = import_hey_csv(files, options=ImportOptions(root=tmp_path / "runs"))
    result = CliRunner().invoke(app, ["analyze", str(run), "--json"])
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(run / "steps.parquet")["users"].tolist() == LEVELS
    max_rps = json.loads(result.stdout)["saturation"]["max_throughput_rps"]
    assert abs(max_rps - measured_target.wrk_rps) / measured_target.wrk_rps <= 0.10, (max_rps, measured_target.wrk_rps)
