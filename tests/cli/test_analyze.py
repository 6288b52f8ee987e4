import json

import pytest
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.store.runs import RunWriter

runner = CliRunner()

GOOD_CSV = "concurrency,throughput,latency_ms\n1,50,20\n2,100,20\n4,100,40\n8,100,80\n16,100,160\n32,100,320\n"


@pytest.fixture
def measurements_csv(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(GOOD_CSV)
    return path


def test_analyze_csv_prints_table_and_verdict(measurements_csv):
    result = runner.invoke(app, ["analyze", str(measurements_csv), "--slo", "p95<300ms"])
    assert result.exit_code == 0, result.output
    assert "Measured steps against the models" in result.output
    assert "One instance sustains at most 100.0 req/s" in result.output


def test_analyze_json_prints_exactly_one_object_with_the_contract_keys(measurements_csv):
    result = runner.invoke(app, ["analyze", str(measurements_csv), "--json", "--slo", "mean<100ms"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    sat = data["saturation"]
    assert sat["max_throughput_rps"] == pytest.approx(100.0)
    assert 0 < sat["safe_throughput_rps"] <= 80.0
    assert {"sigma", "kappa", "lambda", "peak_concurrency", "peak_throughput_rps"} <= set(sat["usl"])
    assert isinstance(sat["warnings"], list)


def test_analyze_plot_writes_offline_html(measurements_csv, tmp_path):
    out = tmp_path / "plot.html"
    result = runner.invoke(app, ["analyze", str(measurements_csv), "--plot", str(out), "--slo", "p95<300ms"])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "Plotly.newPlot" in html  # plotly.js is inline (it names its CDN in strings, but loads nothing)
    assert "<script src=" not in html
    assert not list(tmp_path.glob(".plot.html.*"))


def test_analyze_plot_to_unwritable_place_fails_cleanly(measurements_csv, tmp_path):
    result = runner.invoke(app, ["analyze", str(measurements_csv), "--plot", str(tmp_path / "no" / "p.html")])
    assert result.exit_code == 4
    assert result.output.startswith("Error: cannot write the plot")


@pytest.mark.parametrize(("content", "message"), [
    ("concurrency,throughput\n1,10\n2,20\n", "needs >= 3 load levels, got 2"),
    ("concurrency,throughput\n8,10\n8,11\n8,12\n", "got 1 (8)"),
    ("concurrency,throughput\n1,0\n2,0\n4,0\n", "throughput is zero"),
    ("concurrency,throughput\n1,nan\n2,nan\n4,nan\n", "throughput is zero or missing"),
    ("concurrency,throughput\n1,10\n2,-20\n4,40\n", "negative"),
    ("latency_ms,throughput\n1,2\n", "lacks a concurrency column"),
])
def test_bad_measurements_exit_3_with_one_line_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == 3, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert "Traceback" not in result.output


def test_unreadable_run_directory_exits_3(tmp_path):
    result = runner.invoke(app, ["analyze", str(tmp_path)])
    assert result.exit_code == 3
    assert "run.json" in result.output


def test_bad_slo_is_a_usage_error(measurements_csv):
    result = runner.invoke(app, ["analyze", str(measurements_csv), "--slo", "p95<fast"])
    assert result.exit_code == 2


def test_bad_target_utilisation_is_a_usage_error(measurements_csv):
    result = runner.invoke(app, ["analyze", str(measurements_csv), "--target-utilization", "1.5"])
    assert result.exit_code == 2
    assert "--target-utilization" in result.output


def test_analyze_uses_the_slos_recorded_in_the_run(tmp_path):
    writer = RunWriter("stress", "http://127.0.0.1:1", root=tmp_path, slos=["p95<250ms"])
    rows = []
    for i, n in enumerate([1, 2, 4, 8, 16]):
        x = min(n, 2) * 50.0
        r = 1000.0 * n / x
        rows.append({"step": i, "users": n, "throughput_rps": x, "latency_mean_ms": r, "latency_p95_ms": 3 * r,
                     "latency_std_ms": r})
    writer.write_steps(rows)
    writer.finalize("complete")
    result = runner.invoke(app, ["analyze", str(writer.path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["saturation"]["slos"] == ["p95<250ms"]


def test_saturation_figure_marks_measured_points_models_knee_and_safe_point():
    import numpy as np

    from capplan.models.saturation import estimate_saturation
    from capplan.models.steps import Measurements
    from capplan.report.saturation_plot import (
        latency_figure,
        saturation_figure,
        throughput_figure,
    )

    n = np.array([1, 2, 4, 8, 16.0])
    x = np.minimum(n, 2) * 50.0
    r = 1000 * n / x
    est = estimate_saturation(Measurements(concurrency=n, throughput_rps=x, latency_ms={"mean": r, "p95": 3 * r},
                                           latency_std_ms=r), ["p95<200ms"])
    names = [trace.name for trace in saturation_figure(est).data]
    assert "measured" in names and "measured p95" in names
    assert any(name.startswith("USL") for name in names)
    assert any(name.startswith("G/G/2 model") for name in names)
    assert any(name.startswith("knee N=") for name in names) and any(name.startswith("safe ") for name in names)
    assert any(name == "SLO p95<200ms" for name in names)
    assert len(throughput_figure(est).data) + len(latency_figure(est).data) == len(names)


def _stress_run(root, users, finalize=True):
    writer = RunWriter("stress", "http://127.0.0.1:1", root=root, slos=["p95<250ms"])
    rows = []
    for i, n in enumerate(users):
        x = min(n, 2) * 50.0
        r = 1000.0 * n / x
        rows.append({"step": i, "users": n, "throughput_rps": x, "latency_mean_ms": r, "latency_p95_ms": 3 * r,
                     "latency_std_ms": r})
    writer.write_steps(rows)
    if finalize:
        writer.finalize("complete")
    return writer


def test_several_runs_are_merged_into_one_fit(tmp_path):
    first, second = _stress_run(tmp_path / "a", [1, 2]), _stress_run(tmp_path / "b", [4, 8, 16])
    alone = runner.invoke(app, ["analyze", str(first.path), "--json"])
    assert alone.exit_code == 3  # two load levels cannot be fitted on their own
    merged = runner.invoke(app, ["analyze", str(first.path), str(second.path), "--json"])
    assert merged.exit_code == 0, merged.output
    sat = json.loads(merged.stdout)["saturation"]
    assert sat["usl"]["points"] == 5
    assert sat["max_throughput_rps"] == pytest.approx(100.0)


def test_incomplete_run_is_analysed_with_a_warning(tmp_path):
    writer = _stress_run(tmp_path, [1, 2, 4, 8, 16], finalize=False)
    result = runner.invoke(app, ["analyze", str(writer.path), "--json"])
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["saturation"]["warnings"]
    assert any("using the steps it finished" in w for w in warnings)


def test_run_json_path_names_its_run(tmp_path):
    writer = _stress_run(tmp_path, [1, 2, 4, 8, 16])
    result = runner.invoke(app, ["analyze", str(writer.path / "run.json"), "--json"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("damage", "message"), [
    (lambda run: (run / "run.json").write_text("{not json"), "run.json is not valid JSON"),
    (lambda run: (run / "steps.parquet").write_bytes(b"PAR1 torn"), "not valid Parquet"),
])
def test_damaged_run_exits_3_with_one_line_error(tmp_path, damage, message):
    writer = _stress_run(tmp_path, [1, 2, 4, 8, 16])
    damage(writer.path)
    result = runner.invoke(app, ["analyze", str(writer.path)])
    assert result.exit_code == 3, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_human_output_shows_the_cpu_demand_when_target_cpu_was_recorded(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(GOOD_CSV)
    plain = runner.invoke(app, ["analyze", str(path)])
    assert plain.exit_code == 0 and "CPU demand" not in plain.output
    writer = RunWriter("stress", "http://127.0.0.1:1", root=tmp_path)
    writer.write_steps([{"step": i, "users": n, "throughput_rps": min(n, 2) * 50.0, "target_cpu_pct": 10.0,
                         "latency_mean_ms": 1000.0 * n / (min(n, 2) * 50.0)} for i, n in enumerate([1, 2, 4, 8, 16])])
    writer.finalize("complete")
    result = runner.invoke(app, ["analyze", str(writer.path)])
    assert result.exit_code == 0, result.output
    assert "CPU demand" in result.output and "1.00 ms/request" in result.output


def test_plot_draws_the_conservative_curve_the_slos_were_solved_on():
    import numpy as np

    from capplan.models.saturation import estimate_saturation
    from capplan.models.steps import Measurements
    from capplan.report.saturation_plot import saturation_figure

    n = np.array([1, 2, 4, 8, 16, 32.0])
    x = np.array([83, 98, 101, 99, 102, 100.0])
    mean = 1000 * n / x
    est = estimate_saturation(Measurements(concurrency=n, throughput_rps=x, latency_ms={"mean": mean, "p95": mean},
                                           latency_std_ms=mean), ["p95<100ms"])
    traces = {trace.name: trace for trace in saturation_figure(est).data}
    slow = next(t for name, t in traces.items() if name.endswith("(for SLOs)"))
    safe = next(t for name, t in traces.items() if name.startswith("safe "))
    assert safe.y[0] == pytest.approx(100.0, rel=1e-6)  # the star sits on the SLO, on the curve it was solved on
    assert all(v is None or v > 0 for v in slow.y)


def test_safe_row_names_the_capacity_the_utilisation_applies_to(measurements_csv):
    result = runner.invoke(app, ["analyze", str(measurements_csv)])
    assert result.exit_code == 0, result.output
    assert "utilisation <= 0.8 of 100.0 req/s" in result.output


def _store_with_two_runs(tmp_path):
    store = tmp_path / "runs"
    older = "concurrency,throughput,latency_ms\n1,50,20\n2,100,20\n4,150,27\n8,160,50\n"
    newer = "concurrency,throughput,latency_ms\n1,90,11\n2,180,11\n4,350,11.4\n8,398,20.1\n16,400,40\n"
    paths = []
    for i, text in enumerate((older, newer)):
        csv = tmp_path / f"m{i}.csv"
        csv.write_text(text)
        assert runner.invoke(app, ["loadtest", "import", str(csv), "--out", str(store)]).exit_code == 0
        paths.append(max(store.iterdir(), key=lambda p: p.stat().st_mtime_ns))
    return store, paths


def _analyze_json(*args):
    result = runner.invoke(app, ["analyze", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_run_store_means_its_newest_run(tmp_path):
    store, (_older, newer) = _store_with_two_runs(tmp_path)
    assert _analyze_json(store) == _analyze_json(newer)
    assert _analyze_json(store)["saturation"]["max_throughput_rps"] > 300


def test_all_uses_every_run_of_the_store(tmp_path):
    store, (older, newer) = _store_with_two_runs(tmp_path)
    assert _analyze_json(store, "--all") == _analyze_json(older, newer)
    assert _analyze_json(store, "--all") != _analyze_json(store)


def test_an_empty_run_store_is_a_one_line_input_error(tmp_path):
    (tmp_path / "runs").mkdir()
    result = runner.invoke(app, ["analyze", str(tmp_path / "runs")])
    assert result.exit_code == 3
    assert "not a run directory nor a run store" in result.output and "Traceback" not in result.output
