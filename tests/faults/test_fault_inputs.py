"""Inputs that used to crash or hang: each is now one `Error:` line with exit 2 or 3.

Also a hypothesis fuzz of capplan.toml numbers and measurement-CSV values: whatever the
value, the answer is a result or a CapplanError, never a traceback, and never slower than
a bound (each call runs under an alarm).
"""

from __future__ import annotations

import math
import re
import shutil
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from capplan.app.planning import build_plan
from capplan.cli.app import app
from capplan.config import load_config
from capplan.errors import CapplanError, ConfigError, InputDataError
from capplan.models.saturation import estimate_saturation
from capplan.models.slo import parse_slo
from capplan.models.steps import Measurements
from capplan.store.measurements import load_measurements
from capplan.store.run_reader import read_latest_runs
from capplan.store.run_writer import RunWriter

SAMPLE = (Path(__file__).resolve().parents[2] / "capplan.toml").read_text()
runner = CliRunner()


def _config_with(tmp_path: Path, key: str, value: str) -> Path:
    text, count = re.subn(rf"^{re.escape(key)}\s*=.*$", f"{key} = {value}", SAMPLE, count=1, flags=re.M)
    assert count == 1, key
    path = tmp_path / "capplan.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("key", "value"), [
    ("from_rate", "1e300"), ("per_instance_rps", "1e-300"), ("horizon", '"1000y"'),
    ("per_instance_rps", "inf"), ("per_instance_rps", "nan"), ("current_count", "true"),
    ("current_count", "100000000000000000000"),
])
def test_absurd_config_numbers_are_one_line_exit_2(tmp_path, key, value):
    result = runner.invoke(app, ["plan", "--config", str(_config_with(tmp_path, key, value))])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and key in lines[0], result.stderr


@pytest.mark.parametrize(("text", "why"), [
    ("p95<0ms", "above 0"), ("p95<-1ms", "positive"), ("p99.99999<1s", "decimals"), ("error_rate<-1%", "0 to 1"),
    ("mean<0us", "above 0"),
])
def test_slos_that_can_never_be_met_or_measured_are_refused(text, why):
    with pytest.raises(ConfigError, match=why):
        parse_slo(text)


def test_measurements_csv_with_1e308_is_an_input_error(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("concurrency,throughput,latency_ms\n1,100,10\n2,190,10.5\n4,1e308,12\n8,400,20\n")
    result = runner.invoke(app, ["analyze", str(csv)])
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("Error: throughput out of range in row 4")


def test_importing_a_1e308_concurrency_is_refused_and_leaves_no_run(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("concurrency,throughput\n1,100\n1e308,350\n")
    result = runner.invoke(app, ["loadtest", "import", str(csv), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 3, result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_rules_with_template_characters_in_names_pass_promtool(tmp_path):
    if shutil.which("promtool") is None:
        pytest.skip("Debian promtool not installed (CI installs it)")
    text = re.sub(r'^name = "database disk"', 'name = "disk {{ oops"', SAMPLE, count=1, flags=re.M)
    text = re.sub(r'^name = .*$', 'name = "shop {{ .Foo }} }}"', text, count=1, flags=re.M)
    (tmp_path / "capplan.toml").write_text(text)
    out = tmp_path / "rules.yml"
    result = runner.invoke(app, ["rules", "--config", str(tmp_path / "capplan.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    check = subprocess.run(["promtool", "check", "rules", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "disk {{" not in out.read_text().replace('{{ "{{" }}', "")


def _stress_run(root: Path, throughput: float) -> Path:
    writer = RunWriter("stress", "http://127.0.0.1:1", root=root)
    writer.append_seconds([{"t_s": float(i), "requests": 10, "throughput_rps": throughput, "step": 0} for i in range(3)])
    writer.write_steps([{"step": 0, "users": 1, "throughput_rps": throughput, "requests": 30}])
    return writer.finalize("complete")


def test_a_torn_seconds_parquet_skips_that_run_with_a_warning(tmp_path):
    older = _stress_run(tmp_path, 100.0)
    newer = _stress_run(tmp_path, 200.0)
    data = (newer / "seconds.parquet").read_bytes()
    (newer / "seconds.parquet").write_bytes(data[: len(data) // 2])  # torn
    runs, warnings = read_latest_runs(tmp_path, ("baseline", "stress"))
    assert [r.path for r in runs] == [older]
    assert len(warnings) == 1 and newer.name in warnings[0]


def test_steps_above_the_error_ceiling_never_feed_the_capacity_estimate():
    n = np.array([1, 2, 4, 8, 16, 32], float)
    x = np.array([95, 185, 350, 390, 400, 2600], float)  # the last step: fast refusals of a dead target
    m = Measurements(concurrency=n, throughput_rps=x, latency_ms={"mean": 1000 * n / x},
                     error_rate=np.array([0, 0, 0, 0.01, 0.02, 1.0]))
    estimate = estimate_saturation(m)
    assert estimate.max_throughput_rps < 500
    assert any("dropped 1 step(s) above the 5% error ceiling" in w and "N=32" in w for w in estimate.warnings)


@contextmanager
def _bounded(seconds: float):
    """Fail the test (never hang the suite) if the block runs longer than ``seconds``."""
    def expired(*_):
        raise TimeoutError(f"call took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_NUMERIC_KEYS = re.findall(r"^([a-z_]+)\s*=\s*-?[0-9][0-9._]*\s*(?:#.*)?$", SAMPLE, re.M)
_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
    st.sampled_from([0, -1, 1e-300, 1e300, 1e308, 1e-9, 1e12, 2**63, True, False]),
)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return repr(value)


@given(st.sampled_from(sorted(set(_NUMERIC_KEYS))), _numbers)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_config_numbers_are_accepted_or_one_config_error(tmp_path, key, value):
    path = _config_with(tmp_path, key, _toml(value))
    with _bounded(10.0):
        try:
            load_config(path)
        except ConfigError:
            pass


@pytest.mark.slow
@given(st.sampled_from(sorted(set(_NUMERIC_KEYS))), _numbers)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_config_numbers_that_pass_validation_plan_in_bounded_time(tmp_path, key, value):
    path = _config_with(tmp_path, key, _toml(value))
    with _bounded(20.0):
        try:
            build_plan(load_config(path))
        except CapplanError:
            pass


_cells = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
                   st.sampled_from(["", "x", "1e308", "-0", "nan", "inf", "1,5"]))


@given(st.lists(st.tuples(_cells, _cells, _cells), min_size=0, max_size=8))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_measurement_csv_values_never_crash_or_hang(tmp_path, rows):
    csv = tmp_path / "fuzz.csv"
    csv.write_text("concurrency,throughput,latency_ms\n" + "".join(f'"{a}","{b}","{c}"\n' for a, b, c in rows))
    with _bounded(10.0):
        try:
            estimate_saturation(load_measurements([csv]))
        except (InputDataError, CapplanError):
            pass
