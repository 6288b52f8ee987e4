"""Prometheus source: a real Debian ``prometheus`` on 127.0.0.1, backfilled with promtool."""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from capplan.cli.app import app
from capplan.errors import ConfigError, InputDataError
from capplan.store.history import read_history
from capplan.store.prometheus import (
    MAX_POINTS_PER_REQUEST,
    PROMETHEUS_POINT_LIMIT,
    chunk_ranges,
    parse_prometheus_url,
)

START_S = 1_735_689_600  # 2025-01-01T00:00:00Z
DAYS = 30
SAMPLE_S = 300


@given(st.floats(0, 2e9), st.floats(1, 1e8), st.sampled_from([1, 15, 60, 300, 3600]))
@example(0.0, 6249999.5, 1)  # a range ending less than one step after a full chunk (found by hypothesis)
def test_chunks_cover_the_range_and_stay_under_the_point_limit(start, length, step):
    chunks = chunk_ranges(start, start + length, step)
    assert chunks[0][0] == start and chunks[-1][1] == start + length
    for (_, stop), (begin, _) in zip(chunks, chunks[1:]):
        assert begin == stop + step
    for begin, stop in chunks:
        assert math.floor((stop - begin) / step) + 1 <= MAX_POINTS_PER_REQUEST < PROMETHEUS_POINT_LIMIT


def test_url_parts_are_parsed_without_form_decoding_the_query():
    source = parse_prometheus_url("prometheus://127.0.0.1:9999?query=a+b&step=2m&start=2025-01-01&end=1735776000")
    assert source.base_url == "http://127.0.0.1:9999"
    assert source.query == "a+b"
    assert (source.start_s, source.end_s, source.step_s) == (START_S, 1_735_776_000, 120)


@pytest.mark.parametrize("url, message", [
    ("prometheus://127.0.0.1:9090", "has no query"),
    ("prometheus://127.0.0.1:9090?query=up&step=5x", "step must be a duration"),
    ("prometheus://127.0.0.1:9090?query=up&start=2025-02-01&end=2025-01-01", "start must be before end"),
])
def test_bad_sources_are_usage_errors(url, message):
    with pytest.raises(ConfigError, match=message):
        parse_prometheus_url(url)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _openmetrics() -> str:
    """30 days of a 5-minute gauge: a daily sine (peak 150 + trend) over a level of 100 req/s."""
    lines = ["# HELP capplan_test_rps request rate", "# TYPE capplan_test_rps gauge"]
    for i in range(DAYS * 86_400 // SAMPLE_S):
        value = 100 + 50 * math.sin(2 * math.pi * (i % 288) / 288) + 0.01 * i
        lines.append(f"capplan_test_rps {value:.3f} {START_S + i * SAMPLE_S}")
        lines.append(f'capplan_test_split{{shard="a"}} 1 {START_S + i * SAMPLE_S}')
        lines.append(f'capplan_test_split{{shard="b"}} 2 {START_S + i * SAMPLE_S}')
    return "\n".join(lines + ["# EOF"]) + "\n"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """URL of a private Prometheus on a free loopback port, backfilled, stopped afterwards."""
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("Debian prometheus/promtool not installed (CI installs them)")
    root = tmp_path_factory.mktemp("prometheus")
    (root / "input.om").write_text(_openmetrics())
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(root / "input.om"),
                    str(root / "data")], check=True, capture_output=True, timeout=120)
    (root / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\n")
    port = _free_port()
    process = subprocess.Popen(
        ["prometheus", f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'data'}",
         "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(root / "prometheus.log").open("w"))
    try:
        _wait_ready(f"http://127.0.0.1:{port}/-/ready", process)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_ready(url: str, process: subprocess.Popen, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("prometheus did not become ready in 30 s")


@pytest.mark.slow
def test_a_range_longer_than_the_point_limit_is_fetched_in_chunks(prometheus):
    url = f"prometheus://{prometheus}?query=capplan_test_rps&step=2m&start=2025-01-01&end=2025-01-31"
    history = read_history(url)
    # 30 days at 2-minute steps is 21,601 points: Prometheus refuses more than 11,000 in one request.
    assert len(history.raw) == 21_601
    assert history.unit == "rps" and history.peak_rps_per_unit == 1.0
    # Day 0's busiest sample is at 06:00: 100 + 50 + 0.01·72 (the backfilled formula).
    assert history.daily.iloc[0] == pytest.approx(150.72, abs=0.01)
    assert history.daily.iloc[10] == pytest.approx(150.72 + 0.01 * 288 * 10, abs=0.01)


@pytest.mark.slow
def test_the_server_really_refuses_an_unchunked_request(prometheus):
    query = "query=capplan_test_rps&start=1735689600&end=1738281600&step=120"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://{prometheus}/api/v1/query_range?{query}", timeout=10)
    assert "11,000 points" in json.load(refused.value)["error"]


@pytest.mark.slow
def test_a_query_returning_several_series_asks_for_aggregation(prometheus):
    with pytest.raises(InputDataError, match="returned 2 series: aggregate to one"):
        read_history(f"prometheus://{prometheus}?query=capplan_test_split&start=2025-01-01&end=2025-01-03")


@pytest.mark.slow
def test_invalid_promql_is_bad_input(prometheus):
    with pytest.raises(InputDataError, match="Prometheus refused the query"):
        read_history(f"prometheus://{prometheus}?query=sum(rate(&start=2025-01-01&end=2025-01-03")


def test_an_unreachable_server_is_bad_input():
    with pytest.raises(InputDataError, match="could not be read"):
        read_history(f"prometheus://127.0.0.1:{_free_port()}?query=up&start=2025-01-01&end=2025-01-02")


@pytest.mark.slow
def test_forecast_command_reads_prometheus(prometheus):
    url = f"prometheus://{prometheus}?query=capplan_test_rps&step=5m&start=2025-01-01&end=2025-01-31"
    result = CliRunner().invoke(app, ["forecast", url, "--horizon", "14d", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["forecast"]) == 14 and payload["peak_rps_per_unit"] == 1.0
    # The daily peak rises 2.88 req/s a day from 150.72: the forecast continues the line.
    assert payload["forecast"][0]["yhat"] == pytest.approx(150.72 + 2.88 * 30, rel=0.03)


@pytest.mark.slow
def test_a_prometheus_source_in_capplan_toml_is_forecast(prometheus, tmp_path):
    text = (Path(__file__).resolve().parents[2] / "capplan.toml").read_text()
    url = f"prometheus://{prometheus}?query=capplan_test_rps&step=5m&start=2025-01-01&end=2025-01-31"
    demand = f'[demand]\nsource = "{url}"\nhorizon = "7d"\nmodel = "linear_trend"\n\n'
    config = tmp_path / "capplan.toml"
    config.write_text(text[:text.index("[demand]")] + demand + text[text.index("[pricing]"):])
    result = CliRunner().invoke(app, ["forecast", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["name"] == "capplan_test_rps" and payload["model"] == "linear_trend"
    assert payload["forecast"][0]["yhat"] == pytest.approx(150.72 + 2.88 * 30, rel=0.03)


@pytest.mark.slow
def test_review_with_a_prometheus_source_compares_the_last_plan_with_prometheus_actuals(prometheus, tmp_path):
    """The review reads actual daily peaks from the same Prometheus the plan forecast from."""
    from datetime import date, datetime, timedelta, timezone

    from capplan.models.review import PlanSnapshot
    from capplan.store.reviews import list_snapshots, write_snapshot

    url = f"prometheus://{prometheus}?query=capplan_test_rps&step=5m&start=2025-01-01&end=2025-01-31"
    config = tmp_path / "capplan.toml"
    config.write_text(f'[service]\nname = "prom"\n[capacity]\nper_instance_rps = 400\n'
                      f'[demand]\nsource = "{url}"\nhorizon = "14d"\nmodel = "linear_trend"\n'
                      f'[review]\narchive_dir = "archive"\n')
    days = tuple(date(2025, 1, 20) + timedelta(days=i) for i in range(10))
    flat = tuple(150.0 for _ in days)  # last month's plan: flat 150 req/s; actual peaks climb 2.88 a day
    write_snapshot(PlanSnapshot("prom", datetime(2025, 1, 20, tzinfo=timezone.utc), days[0], days, flat, flat,
                                2, 640.0, None, None), tmp_path / "archive")
    result = CliRunner().invoke(app, ["review", "--config", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    review = json.loads(result.stdout)["review"]
    error = review["forecast_error"]
    assert error["days"] == 10
    # Actual peaks 150.72 + 2.88·d for d = 19 … 28 days after 2025-01-01, all above the flat 150.
    assert error["actual_peak_rps"] == pytest.approx(150.72 + 2.88 * 28, abs=0.5)
    assert error["bias"] > 0 and error["upper_coverage"] == 0.0
    assert review["archived_to"] is None  # json to stdout: today's plan is archived after the review
    (archived,) = [p for p in list_snapshots(tmp_path / "archive") if "20250120" not in p.name]
    assert json.loads(archived.read_text())["demand_source"] == f"linear_trend forecast of {url}"
