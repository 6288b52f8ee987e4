"""`capplan loadtest`: usage errors exit 2, an unreachable target exits 5, help explains scenarios."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from capplan.cli.app import app

runner = CliRunner()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def _invoke(*args: str):
    return runner.invoke(app, ["loadtest", *args])


def test_help_explains_each_scenario():
    result = _invoke("--help")
    assert result.exit_code == 0
    for word in ("baseline", "stress", "spike", "soak", "saturation point", "recovery", "drift"):
        assert word in result.output


def test_stress_help_names_max_duration_and_exit_codes():
    result = _invoke("stress", "--help")
    assert result.exit_code == 0
    assert "--max-duration" in result.output and "refines near the" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slo", "latency is fast"], "cannot read SLO expression"),
        (["--slo", "p95<300"], "needs a unit"),
        (["--users", "5", "--rate", "10"], "exclusive"),
        (["--users", "0"], "--users must be at least 1"),
        (["--max-duration", "2 minutes"], "--max-duration"),
        (["--step-duration", "0s"], "--step-duration must be positive"),
        (["--growth", "1"], "growth must be > 1"),
        (["--master"], "--master needs the number of workers"),
        (["--target-rss-query", "http://127.0.0.1:9090"], "prometheus://host:9090?query="),
        (["--target-rss-query", "prometheus://127.0.0.1:9090"], "has no query"),
    ],
)
def test_bad_flags_exit_2_with_a_one_line_fix(args, message):
    result = _invoke("stress", "--host", "http://127.0.0.1:9", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_non_loopback_host_is_refused_unless_allowed():
    result = _invoke("baseline", "--host", "http://example.com:80")
    assert result.exit_code == 2
    assert "--allow-host example.com" in result.output


def test_missing_host_is_a_usage_error():
    result = _invoke("baseline")
    assert result.exit_code == 2 and "--host is missing" in result.output


def test_unknown_option_is_a_usage_error():
    assert _invoke("baseline", "--host", "http://127.0.0.1:9", "--bogus").exit_code == 2


def test_unreachable_target_exits_5_before_the_test_starts(tmp_path):
    port = _closed_port()
    result = _invoke("baseline", "--host", f"http://127.0.0.1:{port}", "--out", str(tmp_path))
    assert result.exit_code == 5
    assert "target unreachable before the test started" in result.output
    assert f"127.0.0.1:{port}" in result.output
    assert not any(tmp_path.iterdir()), "no run directory is left behind"


def test_missing_locustfile_is_a_usage_error(tmp_path):
    result = _invoke("baseline", "--host", f"http://127.0.0.1:{_closed_port()}",
                     "--locustfile", str(tmp_path / "nope.py"))
    assert result.exit_code == 2 and "locustfile not found" in result.output


def test_config_file_supplies_slos_and_is_validated(tmp_path):
    cfg = tmp_path / "capplan.toml"
    cfg.write_text('[service]\nslos = ["p95<<3"]\n')
    result = _invoke("baseline", "--host", "http://127.0.0.1:9", "--config", str(cfg))
    assert result.exit_code == 2 and "capplan.toml" in result.output


def test_usage_errors_do_not_import_locust_into_the_caller():
    """Locust monkey-patches with gevent; only processes that run load may import it."""
    code = ("import sys; from typer.testing import CliRunner; from capplan.cli.app import app; "
            f"r = CliRunner().invoke(app, ['loadtest', 'baseline', '--host', 'http://127.0.0.1:{_closed_port()}']); "
            "print(r.exit_code, 'locust' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout.split()
    assert out == ["5", "False"]


def test_import_measurements_csv_becomes_a_run(tmp_path):
    from capplan.store.runs import read_run

    csv = tmp_path / "m.csv"
    csv.write_text("concurrency,throughput,latency_ms\n1,95,10.5\n2,180,11\n4,350,11.4\n8,398,20.1\n")
    result = _invoke("import", str(csv), "--out", str(tmp_path / "runs"))
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    run = read_run(run_dir)
    assert list(run.steps["throughput_rps"]) == [95, 180, 350, 398]


def test_import_of_a_missing_file_exits_3(tmp_path):
    result = _invoke("import", str(tmp_path / "missing.csv"), "--out", str(tmp_path))
    assert result.exit_code == 3 and "nothing to import" in result.output


def test_import_rejects_an_unknown_format(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("concurrency,throughput\n1,2\n")
    assert _invoke("import", str(csv), "--format", "gatling").exit_code == 2


def test_each_scenario_help_lists_only_its_own_options():
    soak, stress = _invoke("soak", "--help").output, _invoke("stress", "--help").output
    for stress_only in ("--growth", "--step-duration", "--max-users", "--error-ceiling", "--refine-steps"):
        assert stress_only in stress and stress_only not in soak
    for spike_only in ("--multiplier", "--spike-window", "--recovery-tolerance"):
        assert spike_only not in soak and spike_only not in stress
    assert "--soak-duration" in soak and "--soak-duration" not in stress
    assert "--request-timeout" in soak and "--request-timeout" in stress


def test_every_declared_knob_is_an_option_of_each_scenario_it_applies_to():
    from capplan.loadtest.knob import SCENARIOS, knobs_of
    from capplan.loadtest.settings import LoadTestSettings

    for scenario in SCENARIOS:
        text = _invoke(scenario, "--help").output
        wanted = [spec.flag for spec, _ in knobs_of(LoadTestSettings).values() if scenario in spec.scenarios]
        assert [flag for flag in wanted if flag not in text] == [], scenario


def test_help_shows_the_declared_default_and_config_key():
    text = " ".join(_invoke("stress", "--help").output.split())
    assert "Default: 10s. capplan.toml: [loadtest.stress] step_duration." in text
