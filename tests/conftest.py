"""Shared fixtures: the public reference data beside the checkout; one retry for real-load tests."""

from __future__ import annotations

from pathlib import Path

# Locust's import runs gevent's monkey.patch_all(). It must come before anything imports ssl or
# urllib3 (the kubernetes client, requests): patching after that recurses forever in ssl. Test
# modules that need Locust are collected in the same process anyway, so patch first, once.
import locust  # noqa: F401  isort: skip
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """../shared/reference (public data with published results); skip when absent (a user's clone)."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE_DIR} (present in CI beside the checkout)")
    return REFERENCE_DIR


REAL_LOAD_TESTS = ("tests/integration/", "tests/loadtest/", "tests/cli/test_loadtest.py", "tests/cli/test_cli_target.py",
                   "tests/cli/test_compare_real_runs.py", "tests/faults/test_fault_runs.py", "tests/test_risk_planning.py")
"""Slow tests that time real load on this machine's two cores against a real server."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each real-load test two retries (the slow ones, and the demo target's fast timing tests).

    They compare throughputs and latencies measured over seconds on a 2-core machine; a CPU
    hiccup from outside the test (another process, the VM's neighbours) can move one reading
    by 10 % or more. A failure that repeats on both retries is reported as a failure. (One retry
    was not enough on 2026-12-01: a fresh-clone run failed the contention closed-loop test twice,
    which then passed alone at the first try.)
    """
    for item in items:
        where = Path(str(item.fspath)).resolve().relative_to(REPO_ROOT).as_posix()
        if where.startswith(REAL_LOAD_TESTS):  # fast ones too: the target's millisecond timing tests
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=2))
