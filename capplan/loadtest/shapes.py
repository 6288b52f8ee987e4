"""Pure load shapes: elapsed time (and, for stress, measured steps) -> target load.

No Locust, no clock, no I/O here: the runner's LoadTestShape adapter calls
:meth:`decide` once a second with the elapsed seconds and the per-second throughput of
the current step, and gets back a :class:`LoadTarget`, a :class:`StepComplete` (the runner
then aggregates that step's steady window and calls :meth:`StressController.record`),
or ``None`` when the scenario is over.

A load *level* is a number of users in the closed model and an arrival rate (req/s) in
the open model; shapes do not care which.

Scenarios
- baseline: linear ramp to the level over ``ramp_s``, then hold it for ``hold_s`` (step 0).
- spike: ``pre_s`` at the base level (step 0), ``multiplier`` x base for ``window_s``
  (step 1, reached within one second), ``post_s`` at the base level again (step 2).
- soak: ramp, then hold the level for ``duration_s`` (step 0).
- stress: adaptive steps, see :class:`StressController`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class LoadTarget:
    """What the generator should be doing now: ``level`` users (closed) or req/s (open)."""

    level: float
    stage: str
    step: int
    spawn_rate: float


@dataclass(frozen=True)
class StepComplete:
    """A step has ended; its steady window is ``[steady_start_s, end_s)`` in run seconds."""

    step: int
    stage: str
    level: float
    start_s: float
    steady_start_s: float
    end_s: float


@dataclass(frozen=True)
class StepResult:
    """Steady-state aggregates of one step, as the stress planner needs them.

    ``observed`` holds ``p50``/``p95``/``p99``/``p99.9``/``max``/``mean`` (ms) and
    ``error_rate`` (fraction), the keys :func:`evaluate_slos` reads.
    """

    step: int
    level: float
    throughput_rps: float
    observed: dict[str, float]


@dataclass(frozen=True)
class SteadyConfig:
    """Steady-state detection: drop ``settle_s`` of ramp transient, then accept a window of
    at least ``min_steady_s`` seconds whose throughput has a coefficient of variation
    <= ``cv_max``, a Theil-Sen drift over the window <= ``drift_max`` of its mean, and
    first- and second-half means within ``drift_max / 2`` of the mean (no ramp tail)."""

    settle_s: float = 2.0
    min_steady_s: int = 3
    cv_max: float = 0.15
    drift_max: float = 0.15


def find_steady_start(throughput_rps: Sequence[float], cfg: SteadyConfig = SteadyConfig()) -> int | None:
    """Index of the earliest second from which the series is steady, or None.

    ``throughput_rps`` are the per-second values after the settle period. The window
    must reach the end of the series (a step is steady *now*).
    """
    values = np.asarray(throughput_rps, dtype=float)
    for start in range(len(values) - cfg.min_steady_s + 1):
        if _is_steady(values[start:], cfg):
            return start
    return None


def _is_steady(window: np.ndarray, cfg: SteadyConfig) -> bool:
    mean = float(window.mean())
    if mean <= 0:
        return bool(np.all(window == 0))
    if float(window.std()) / mean > cfg.cv_max:
        return False
    half = len(window) // 2
    if abs(float(window[-half:].mean()) - float(window[:half].mean())) > cfg.drift_max / 2 * mean:
        return False  # a ramp transient still in the window
    slope = stats.theilslopes(window).slope
    return abs(slope) * (len(window) - 1) <= cfg.drift_max * mean


@dataclass(frozen=True)
class Phase:
    """One stage of a fixed schedule: ``level`` from ``start_s`` for ``duration_s``."""

    stage: str
    step: int
    level: float
    start_s: float
    duration_s: float
    ramp_from: float | None = None

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


def baseline_phases(level: float, ramp_s: float, hold_s: float) -> tuple[Phase, ...]:
    """Ramp linearly from 0 to ``level`` over ``ramp_s``, then hold for ``hold_s`` (step 0)."""
    ramp = (Phase("ramp", -1, level, 0.0, ramp_s, ramp_from=0.0),) if ramp_s > 0 else ()
    return ramp + (Phase("hold", 0, level, ramp_s, hold_s),)


def soak_phases(level: float, ramp_s: float, duration_s: float) -> tuple[Phase, ...]:
    """Ramp to ``level``, then hold it for ``duration_s`` (step 0, stage "soak")."""
    ramp = (Phase("ramp", -1, level, 0.0, ramp_s, ramp_from=0.0),) if ramp_s > 0 else ()
    return ramp + (Phase("soak", 0, level, ramp_s, duration_s),)


def spike_phases(level: float, multiplier: float, pre_s: float, window_s: float,
                 post_s: float) -> tuple[Phase, ...]:
    """Base level, a sudden ``multiplier`` x surge for ``window_s``, then base level again."""
    return (Phase("pre", 0, level, 0.0, pre_s),
            Phase("spike", 1, level * multiplier, pre_s, window_s),
            Phase("post", 2, level, pre_s + window_s, post_s))


@dataclass
class FixedController:
    """Plays a fixed tuple of phases; emits a :class:`StepComplete` at each step's end."""

    phases: tuple[Phase, ...]
    integer_levels: bool = True
    settle_s: float = 2.0
    _done_steps: set[int] = field(default_factory=set)

    @property
    def total_s(self) -> float:
        """Scheduled length of the scenario in seconds."""
        return self.phases[-1].end_s

    def decide(self, t_s: float, step_throughput_rps: Sequence[float] = ()) -> LoadTarget | StepComplete | None:
        """Target at ``t_s`` seconds; a finished step is reported once before moving on."""
        for phase in self.phases:
            if phase.step >= 0 and phase.end_s <= t_s and phase.step not in self._done_steps:
                self._done_steps.add(phase.step)
                steady = min(phase.start_s + self.settle_s, phase.end_s)
                return StepComplete(phase.step, phase.stage, phase.level, phase.start_s, steady, phase.end_s)
        current = next((p for p in self.phases if p.start_s <= t_s < p.end_s), None)
        if current is None:
            return None
        return LoadTarget(self._level(current, t_s), current.stage, current.step, self._spawn_rate(current))

    def _level(self, phase: Phase, t_s: float) -> float:
        level = phase.level
        if phase.ramp_from is not None and phase.duration_s > 0:
            frac = min(1.0, (t_s - phase.start_s + 1.0) / phase.duration_s)
            level = phase.ramp_from + (phase.level - phase.ramp_from) * frac
        return float(max(1, math.ceil(level))) if self.integer_levels else level

    def _spawn_rate(self, phase: Phase) -> float:
        # A surge, and the drop after it, must land within a second (Locust stops users at the spawn
        # rate too: 2 users/s after a 20-user spike took 9 s and read as "did not recover").
        # Ramps are already paced by _level.
        index = self.phases.index(phase)
        before = self.phases[index - 1].level if index else 0.0
        return float(max(phase.level, before, 1.0))
