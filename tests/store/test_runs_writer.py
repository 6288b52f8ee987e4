"""RunWriter: directory layout, round trip, flush cadence, atomic finalize, secrets."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import CapplanError, ConfigError, InputDataError
from capplan.models.sketch import LatencySketch
from capplan.store.runs import SECOND_COLUMNS, RunWriter, read_run, strip_secrets


def _second_row(t_s: float, latencies_ms: list[float]) -> dict:
    sketch = LatencySketch()
    sketch.add_many(latencies_ms)
    return {
        "t_s": t_s, "stage": "hold", "step": 0, "users": 4, "offered_rps": math.nan,
        "requests": len(latencies_ms), "throughput_rps": float(len(latencies_ms)), "errors": 1,
        "error_rate": 1 / len(latencies_ms), "errors_by_kind": json.dumps({"HTTP 500": 1}),
        "latency_p50_ms": float(np.percentile(latencies_ms, 50)), "latency_max_ms": max(latencies_ms),
        "gen_cpu_pct": 12.5, "sketch": sketch.to_bytes(),
    }


def test_run_directory_is_named_utc_timestamp_and_scenario_and_has_run_json_at_start(tmp_path):
    writer = RunWriter("stress", "http://127.0.0.1:8089", root=tmp_path, slos=["p95<300ms"])
    assert writer.path.parent == tmp_path
    assert writer.path.name == writer.started_at.strftime("%Y%m%dT%H%M%SZ") + "-stress"
    meta = json.loads((writer.path / "run.json").read_text())
    assert meta["status"] == "running" and meta["complete"] is False
    assert meta["schema_version"] == 1 and meta["slos"] == ["p95<300ms"]
    assert set(meta["versions"]) >= {"capplan", "locust", "python"}


def test_two_runs_started_in_the_same_second_get_distinct_directories(tmp_path):
    first = RunWriter("spike", "http://127.0.0.1:1", root=tmp_path)
    second = RunWriter("spike", "http://127.0.0.1:1", root=tmp_path, started_at=first.started_at)
    assert first.path != second.path


def test_rows_with_sketches_round_trip_through_finalize(tmp_path):
    rng = np.random.default_rng(1)
    samples = [list(rng.exponential(10.0, 200)) for _ in range(12)]
    with RunWriter("baseline", "http://127.0.0.1:1", root=tmp_path) as writer:
        for t, latencies in enumerate(samples):
            writer.append_seconds([_second_row(float(t), latencies)])
        writer.write_steps([{"step": 0, "users": 4, "throughput_rps": 200.0, "requests": 2400}])
    run = read_run(writer.path)
    assert run.complete and run.status == "complete" and not run.live
    assert run.seconds["t_s"].tolist() == list(range(12))
    assert run.seconds["errors_by_kind"].iloc[3] == '{"HTTP 500": 1}'
    assert run.seconds["ts"].iloc[5] - run.seconds["ts"].iloc[0] == pd.Timedelta(seconds=5)
    merged = LatencySketch()
    for blob in run.seconds["sketch"]:
        merged.merge(LatencySketch.from_bytes(blob))
    everything = np.concatenate(samples)
    assert merged.count == len(everything)
    assert merged.quantile(0.99) == pytest.approx(np.percentile(everything, 99, method="lower"), rel=0.01)
    assert run.steps["throughput_rps"].tolist() == [200.0]


def test_unknown_columns_are_kept_and_missing_known_columns_are_nan(tmp_path):
    with RunWriter("soak", "http://127.0.0.1:1", root=tmp_path) as writer:
        writer.append_seconds([{"t_s": 0.0, "requests": 3, "queue_depth": 7}])
    run = read_run(writer.path)
    assert run.seconds["queue_depth"].tolist() == [7]
    assert list(run.seconds.columns[: len(SECOND_COLUMNS)]) == list(SECOND_COLUMNS)
    assert math.isnan(run.seconds["latency_p99_ms"].iloc[0])
    assert math.isnan(run.seconds["target_rss_mb"].iloc[0])


def test_a_part_file_exists_at_most_five_seconds_after_the_first_row(tmp_path):
    writer = RunWriter("soak", "http://127.0.0.1:1", root=tmp_path)
    started = time.monotonic()
    part_seen_after_s = None
    for t in range(14):
        writer.append_seconds([{"t_s": float(t), "requests": 1}])
        if part_seen_after_s is None and any((writer.path / "seconds").glob("part-*.parquet")):
            part_seen_after_s = time.monotonic() - started
        time.sleep(0.4)
    assert part_seen_after_s is not None and part_seen_after_s <= 5.2
    assert len(list((writer.path / "seconds").glob("part-*.parquet"))) == 1  # 5.6 s: not one per append
    json.loads((writer.path / "run.json").read_text())  # rewritten at the flush, still valid


def test_finalize_merges_parts_into_one_file_and_leaves_no_temp_files(tmp_path):
    writer = RunWriter("stress", "http://127.0.0.1:1", root=tmp_path, flush_interval_s=0.01)
    for t in range(6):
        writer.append_seconds([{"t_s": float(t), "requests": t}])
        time.sleep(0.02)
    assert len(list((writer.path / "seconds").glob("part-*.parquet"))) >= 3
    writer.finalize("interrupted", verdict={"slos_met": False, "results": []}, summary={"steps": 2})
    assert sorted(p.name for p in writer.path.iterdir()) == ["run.json", "seconds.parquet"]
    run = read_run(writer.path)
    assert run.seconds["requests"].tolist() == list(range(6))
    assert run.meta["status"] == "interrupted" and not run.complete
    assert run.meta["verdict"]["slos_met"] is False and run.meta["summary"] == {"steps": 2}
    assert run.meta["ended_at"] >= run.meta["started_at"]


def test_leaving_the_context_on_an_exception_finalizes_as_failed(tmp_path):
    with pytest.raises(RuntimeError):
        with RunWriter("spike", "http://127.0.0.1:1", root=tmp_path) as writer:
            writer.append_seconds([{"t_s": 0.0, "requests": 1}])
            raise RuntimeError("target died")
    assert read_run(writer.path).meta["status"] == "failed"


def test_secrets_in_parameters_and_host_are_never_written(tmp_path):
    parameters = {
        "users": 10, "headers": {"X-Api": "hdr-secret-1"}, "token": "tok-secret-2",
        "Authorization": "Bearer auth-secret-3", "nested": {"db_password": "pw-secret-4", "keep": "visible"},
    }
    with RunWriter("baseline", "http://alice:url-secret-5@127.0.0.1:8089/", root=tmp_path,
                   parameters=parameters) as writer:
        writer.append_seconds([{"t_s": 0.0, "requests": 1}])
    everything = b"".join(p.read_bytes() for p in writer.path.rglob("*") if p.is_file())
    for secret in (b"hdr-secret-1", b"tok-secret-2", b"auth-secret-3", b"pw-secret-4", b"url-secret-5"):
        assert secret not in everything
    meta = read_run(writer.path).meta
    assert meta["parameters"]["nested"] == {"keep": "visible"} and meta["parameters"]["users"] == 10
    assert meta["host"] == "http://127.0.0.1:8089/"


_SECRET_NAMES = st.sampled_from(["headers", "Token", "password", "Authorization", "api_key", "cookie", "secret"])
_PLAIN = st.text(alphabet="abcdefgh_", min_size=1, max_size=6)
_TREES = st.recursive(
    st.integers() | st.text(max_size=5),
    lambda children: st.dictionaries(_PLAIN | _SECRET_NAMES, children, max_size=4) | st.lists(children, max_size=3),
    max_leaves=12,
)


@given(_TREES)
def test_no_secret_key_survives_at_any_depth(tree):
    def keys(value):
        if isinstance(value, dict):
            for key, child in value.items():
                yield key
                yield from keys(child)
        elif isinstance(value, list):
            for child in value:
                yield from keys(child)

    cleaned = strip_secrets(tree)
    assert not any(k.lower() in {"headers", "token", "password", "authorization", "api_key", "cookie", "secret"}
                   for k in keys(cleaned))


def test_rows_of_the_wrong_type_are_refused_when_appended(tmp_path):
    writer = RunWriter("stress", "http://127.0.0.1:1", root=tmp_path)
    with pytest.raises(InputDataError, match="sketch"):
        writer.append_seconds([{"t_s": 0.0, "sketch": 12345}])
    with pytest.raises(InputDataError, match="users"):
        writer.append_seconds([{"t_s": 0.0, "users": "many"}])


def test_the_writer_refuses_use_after_finalize_and_unknown_statuses(tmp_path):
    writer = RunWriter("stress", "http://127.0.0.1:1", root=tmp_path)
    with pytest.raises(ConfigError, match="final status"):
        writer.finalize("running")
    writer.finalize("complete")
    with pytest.raises(CapplanError, match="after finalize"):
        writer.append_seconds([{"t_s": 1.0}])


def test_a_flush_interval_above_five_seconds_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="flush interval"):
        RunWriter("soak", "http://127.0.0.1:1", root=tmp_path, flush_interval_s=10)


_FLOAT = st.none() | st.floats(allow_nan=False, allow_infinity=False, width=64)
_ROW = st.fixed_dictionaries(
    {"t_s": st.floats(0, 1e6, allow_nan=False)},
    optional={"users": st.integers(0, 10**6), "throughput_rps": _FLOAT, "latency_p99_ms": _FLOAT,
              "stage": st.text(max_size=8), "sketch": st.binary(max_size=32), "errors": st.integers(0, 10**9)},
)


@given(st.lists(_ROW, min_size=1, max_size=20), st.integers(1, 4))
@settings(max_examples=40, deadline=None)
def test_any_rows_round_trip_exactly_whatever_the_flush_pattern(tmp_path_factory, rows, flush_every):
    root = tmp_path_factory.mktemp("prop")
    writer = RunWriter("stress", "http://127.0.0.1:1", root=root)
    for index, row in enumerate(rows):
        writer.append_seconds([row])
        if index % flush_every == 0:
            writer.flush()
    seconds = read_run(writer.finalize("complete")).seconds
    expected = sorted(rows, key=lambda r: r["t_s"])  # the store keeps rows in time order (stable)
    for column in ("t_s", "users", "throughput_rps", "latency_p99_ms", "stage", "sketch", "errors"):
        got = seconds[column].tolist()
        want = [row.get(column) for row in expected]
        for g, w in zip(got, want, strict=True):
            if w is None:
                assert g is None or (isinstance(g, float) and math.isnan(g)), column
            else:
                assert g == w, column


def test_open_model_step_columns_reach_steps_parquet_with_their_types(tmp_path):
    with RunWriter("stress", "http://127.0.0.1:1", root=tmp_path) as writer:
        writer.write_steps([{"step": 0, "users": 0, "requests": 970, "duration_s": 5.0, "intended": 1000,
                             "intended_rps": 200.0, "achieved_ratio": 0.97}])
    steps = read_run(writer.path).steps
    row = steps.iloc[0]
    assert (row["intended"], row["intended_rps"], row["achieved_ratio"]) == (1000.0, 200.0, 0.97)
    assert str(steps["intended"].dtype) == "float64"
