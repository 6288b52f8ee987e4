"""Shared by the k6/JMeter/hey import tests: one saturable demo target and wrk's reading of it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from capplan.loadtest.target import TargetSettings, start_target
from capplan.loadtest.wrk import measure_with_wrk

LEVELS = [2, 8, 16]
"""Concurrency levels each tool runs: below and past the target's 4 slots (three, the fewest a USL fit takes)."""


@dataclass(frozen=True)
class MeasuredTarget:
    """A running demo target (4 slots × 10 ms, about 400 req/s) and wrk -c64's req/s on it."""

    url: str
    wrk_rps: float


@pytest.fixture(scope="session")
def measured_target():
    """Started once for the slow import tests; wrk measures it first (5 s, about 2,000 requests)."""
    with start_target(TargetSettings(slots=4, service_ms=10.0, port=0, seed=7)) as target:
        yield MeasuredTarget(target.url, measure_with_wrk(target.url, connections=64, duration_s=5).requests_per_s)
