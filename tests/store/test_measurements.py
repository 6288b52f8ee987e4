import numpy as np
import pandas as pd
import pytest

from capplan.errors import InputDataError
from capplan.models.sketch import LatencySketch
from capplan.store.measurements import load_measurements
from capplan.store.runs import RunWriter

USERS = [1, 2, 4, 8, 16]


def _step_rows(users=USERS, service_ms=20.0, servers=2):
    rows = []
    for i, n in enumerate(users):
        x = min(n, servers) * 1000.0 / service_ms
        r = 1000.0 * n / x
        rows.append({"step": i, "stage": "step", "users": n, "throughput_rps": x, "requests": int(x * 10),
                     "errors": 0, "error_rate": 0.0, "latency_mean_ms": r, "latency_p50_ms": r * 0.7,
                     "latency_p95_ms": r * 3, "latency_p99_ms": r * 4.6, "latency_std_ms": r,
                     "concurrency_little": x * r / 1000.0, "gen_cpu_pct": 20.0})
    return rows


def _write_run(root, users=USERS, finalize=True, with_steps=True, slos=("p95<300ms",)):
    writer = RunWriter("stress", "http://127.0.0.1:1", root=root, slos=slos, parameters={"think_time_s": 0})
    if with_steps:
        writer.write_steps(_step_rows(users))
    if finalize:
        writer.finalize("complete")
    return writer


def test_measurements_csv_columns_are_read(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("concurrency,throughput,latency_ms\n1,50,20\n2,100,20\n4,100,40\n")
    m = load_measurements([path])
    np.testing.assert_array_equal(m.concurrency, [1, 2, 4])
    np.testing.assert_array_equal(m.throughput_rps, [50, 100, 100])
    np.testing.assert_array_equal(m.latency("mean"), [20, 20, 40])
    assert m.load_model == "unknown"


def test_csv_from_other_tools_may_use_aliases_and_percentile_columns(tmp_path):
    path = tmp_path / "wrk.csv"
    path.write_text("Connections,RPS,latency_p95_ms,p99_ms\n1,50,30,40\n2,100,35,50\n4,100,80,90\n")
    m = load_measurements([path])
    np.testing.assert_array_equal(m.latency("p95"), [30, 35, 80])
    np.testing.assert_array_equal(m.latency("p99"), [40, 50, 90])


def test_csv_without_a_throughput_column_names_the_columns_it_has(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("concurrency,latency_ms\n1,20\n")
    with pytest.raises(InputDataError, match="lacks a throughput column.*concurrency, latency_ms"):
        load_measurements([path])


def test_non_numeric_csv_value_names_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("concurrency,throughput\n1,50\n2,fast\n")
    with pytest.raises(InputDataError, match=r"row 3, 'fast'"):
        load_measurements([path])


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00garbage\x00\xff"])
def test_empty_or_binary_csv_is_an_input_error(tmp_path, content):
    path = tmp_path / "m.csv"
    path.write_bytes(content)
    with pytest.raises(InputDataError):
        load_measurements([path])


def test_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(InputDataError, match="not found"):
        load_measurements([tmp_path / "nope.csv"])


def test_run_directory_steps_are_read_with_the_runs_slos(tmp_path):
    run = _write_run(tmp_path)
    m = load_measurements([run.path])
    np.testing.assert_array_equal(m.concurrency, USERS)
    np.testing.assert_allclose(m.throughput_rps, [50, 100, 100, 100, 100])
    np.testing.assert_allclose(m.latency("p95"), m.latency("mean") * 3)
    assert m.slo_texts == ("p95<300ms",)
    assert m.load_model == "closed" and not m.notes


def test_several_runs_of_the_same_service_are_merged(tmp_path):
    first, second = _write_run(tmp_path / "a"), _write_run(tmp_path / "b", users=[3, 32])
    m = load_measurements([first.path, second.path])
    assert sorted(m.concurrency.tolist()) == sorted(USERS + [3, 32])
    assert len(m.sources) == 2


def test_run_and_csv_can_be_merged(tmp_path):
    run = _write_run(tmp_path)
    path = tmp_path / "extra.csv"
    path.write_text("concurrency,throughput,latency_ms\n64,99,640\n")
    m = load_measurements([run.path, path])
    assert m.size == len(USERS) + 1 and np.isnan(m.latency("p95")[-1])


def test_incomplete_run_is_used_with_a_note(tmp_path):
    writer = _write_run(tmp_path, finalize=False)
    m = load_measurements([writer.path])
    assert m.size == len(USERS)
    assert any("incomplete" in note or "running" in note for note in m.notes)


def test_run_killed_before_writing_steps_is_rebuilt_from_seconds(tmp_path):
    writer = _write_run(tmp_path, finalize=False, with_steps=False)
    rows = []
    for step, n in enumerate(USERS):
        x = min(n, 2) * 50.0
        for t in range(6):
            sketch = LatencySketch()
            sketch.add_many([1000.0 * n / x] * int(x))
            rows.append({"t_s": float(step * 6 + t), "stage": "step", "step": step, "users": n,
                         "offered_rps": np.nan, "requests": int(x), "throughput_rps": x, "errors": 0,
                         "error_rate": 0.0, "latency_mean_ms": 1000.0 * n / x, "sketch": sketch.to_bytes()})
    writer.append_seconds(rows)
    writer.flush()
    m = load_measurements([writer.path])
    np.testing.assert_allclose(m.throughput_rps, [50, 100, 100, 100, 100])
    np.testing.assert_allclose(m.latency("p95"), [20, 20, 40, 80, 160], rtol=0.01)
    assert any("rebuilt from its per-second rows" in note for note in m.notes)


def test_run_without_any_data_is_an_input_error(tmp_path):
    writer = _write_run(tmp_path, with_steps=False)
    with pytest.raises(InputDataError, match="no measured steps"):
        load_measurements([writer.path])


def test_directory_that_is_not_a_run_is_an_input_error(tmp_path):
    with pytest.raises(InputDataError, match="run.json"):
        load_measurements([tmp_path])


def test_corrupt_steps_file_is_an_input_error(tmp_path):
    run = _write_run(tmp_path)
    (run.path / "steps.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputDataError, match="not valid Parquet"):
        load_measurements([run.path])


def test_open_model_concurrency_comes_from_littles_law(tmp_path):
    writer = RunWriter("stress", "http://127.0.0.1:1", root=tmp_path, load_model="open")
    rows = pd.DataFrame(_step_rows())
    rows["offered_rps"] = rows["throughput_rps"]
    writer.write_steps(rows)
    writer.finalize("complete")
    m = load_measurements([writer.path])
    np.testing.assert_allclose(m.concurrency, rows["concurrency_little"])
