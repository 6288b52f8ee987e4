"""Target monitor: RSS from the pid or from a real Prometheus scraping the demo target."""

from __future__ import annotations

import math
import socket
import subprocess

import pytest

from capplan.errors import LoadTestError
from capplan.loadtest.monitor import TargetMonitor
from capplan.loadtest.target import TargetSettings, start_target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_prometheus_fails_before_the_test_starts():
    with pytest.raises(LoadTestError, match="target memory query failed, 'process_resident_memory_bytes'"):
        TargetMonitor(None, f"prometheus://127.0.0.1:{_free_port()}?query=process_resident_memory_bytes")


def test_unknown_target_pid_is_a_load_test_error():
    proc = subprocess.Popen(["true"])
    proc.wait()
    with pytest.raises(LoadTestError, match=f"--target-pid {proc.pid}"):
        TargetMonitor(proc.pid)


def test_pid_gives_cpu_and_rss_until_the_target_dies():
    with start_target(TargetSettings(port=0)) as target:
        monitor = TargetMonitor(target.pid)
        alive = monitor.sample()
        target.kill()
        dead = monitor.sample()
    assert 1 < alive.target_rss_mb < 500 and alive.target_cpu_pct >= 0
    assert math.isnan(dead.target_rss_mb) and math.isnan(dead.target_cpu_pct)


@pytest.mark.slow
def test_rss_from_prometheus_matches_the_process_rss(prometheus_scraping):
    with start_target(TargetSettings(port=0)) as target:
        address = prometheus_scraping(target.url)
        monitor = TargetMonitor(None, f"prometheus://{address}?query=process_resident_memory_bytes")
        from_prometheus = monitor.sample().target_rss_mb
        direct = TargetMonitor(target.pid).sample().target_rss_mb
    assert math.isclose(from_prometheus, direct, rel_tol=0.1), (from_prometheus, direct)
