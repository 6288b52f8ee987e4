"""``[loadtest]`` defaults for ``capplan loadtest`` (command-line flags override them)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from capplan.config.base import DurationField, _Section
from capplan.config.units import parse_duration


class BaselineSettings(_Section):
    """``[loadtest.baseline]``: steady low load to measure unloaded latency."""

    users: Annotated[int, Field(ge=1)] = 10
    duration: DurationField = parse_duration("60s")


class StressSettings(_Section):
    """``[loadtest.stress]``: load multiplied by ``growth`` each step until throughput stops rising
    or an SLO breaks, then refined near the knee (closed model: users; open model: ``rate``)."""

    start_users: Annotated[int, Field(ge=1)] = 2
    growth: Annotated[float, Field(gt=1.0)] = 2.0
    max_users: Annotated[int, Field(ge=1)] = 256
    step_duration: DurationField = parse_duration("20s")
    rate: Annotated[float, Field(gt=0.0)] | None = None  # open model: start rate in req/s when set


class SpikeSettings(_Section):
    """``[loadtest.spike]``: a sudden burst of ``multiplier`` × users for ``window``."""

    users: Annotated[int, Field(ge=1)] = 10
    multiplier: Annotated[float, Field(gt=1.0)] = 5.0
    before: DurationField = parse_duration("30s")
    window: DurationField = parse_duration("30s")
    after: DurationField = parse_duration("60s")


class SoakSettings(_Section):
    """``[loadtest.soak]``: constant load for a long time to reveal drift and leaks."""

    users: Annotated[int, Field(ge=1)] = 20
    duration: DurationField = parse_duration("30m")


class LoadTestConfig(_Section):
    """``[loadtest]``: defaults for ``capplan loadtest`` (flags override them)."""

    host: str = "http://127.0.0.1:8089"
    allow_hosts: tuple[str, ...] = ()
    locustfile: str | None = None
    workers: Annotated[int, Field(ge=1)] = 1
    out_dir: str = "datasets/runs"
    max_duration: DurationField = parse_duration("15m")
    baseline: BaselineSettings = BaselineSettings()
    stress: StressSettings = StressSettings()
    spike: SpikeSettings = SpikeSettings()
    soak: SoakSettings = SoakSettings()
