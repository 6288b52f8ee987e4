"""``capplan loadtest … --compare-to`` on real Locust runs against the demo target on 127.0.0.1 (slow).

Runs are child ``capplan`` processes (Locust's gevent patching must not leak into pytest).
The 20-repeat false-alarm and power loops are in benchmarks/bench_compare.py. Each hold is 20 s
(about 18 steady seconds, 6 blocks): with 8 s (6 steady seconds, 3 blocks) the t test on blocks
could not call a 20 % slower target significant (p95 +20.9 %, interval −3.6 … +51.7 %), as it
should not on that little evidence.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from capplan.loadtest.target import TargetSettings, start_target

pytestmark = pytest.mark.slow

_CLI = [sys.executable, "-c", "from capplan.cli.app import main; main()"]


def _baseline(target: TargetSettings, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with start_target(target) as running:
        return subprocess.run([*_CLI, "loadtest", "baseline", "--host", running.url, "--users", "8", "--ramp", "1s",
                               "--hold", "20s", "--out", str(out), "--quiet", *extra],
                              capture_output=True, text=True, timeout=120)


def _target(service_ms: float, seed: int) -> TargetSettings:
    return TargetSettings(slots=4, service_ms=service_ms, port=0, seed=seed)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("base")
    assert _baseline(_target(20.0, 1), out).returncode == 0
    return next(p for p in out.iterdir() if (p / "run.json").is_file())


def test_same_target_again_is_no_significant_change(base_run, tmp_path):
    done = _baseline(_target(20.0, 2), tmp_path, "--compare-to", str(base_run))
    print(done.stdout[-1500:])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verdict: baseline: no significant change" in done.stdout


def test_twenty_percent_slower_target_regresses_and_exits_1(base_run, tmp_path):
    done = _baseline(_target(24.0, 3), tmp_path, "--compare-to", str(base_run))
    print(done.stdout[-1500:])
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Verdict: baseline: regressed, beyond the allowed amount" in done.stdout


def test_compare_to_a_run_of_another_scenario_fails_before_any_load(tmp_path):
    other = tmp_path / "runs"
    from capplan.store.runs import RunWriter

    soak = RunWriter("soak", "http://127.0.0.1:1", root=other).finalize("complete")
    done = subprocess.run([*_CLI, "loadtest", "baseline", "--host", "http://127.0.0.1:9", "--compare-to", str(soak)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "--compare-to run is a soak run" in done.stderr
