"""Pure decision logic of the adaptive stress scenario (no Locust, no clock, no I/O).

The controller climbs geometrically (``start_level`` x ``growth`` per step) and holds each
step until its throughput is steady (:func:`capplan.loadtest.shapes.find_steady_start`
on the seconds after the ramp transient): until it has ``step_s − settle_s`` steady seconds
(at least ``step_s`` in all), and at most ``max_step_s``.
After each step it stops climbing when

- a latency or error SLO is breached, or the error rate passes ``error_rate_max``;
- throughput no longer rises: below ``(1 + min_gain)`` x the best earlier step;
- the next step would pass ``max_level`` or ``max_duration_s``.

It then refines near the knee by bisection for up to ``refine_steps`` extra steps:
between the last passing and the first breaching level when an SLO stopped it, else
between the highest level below ``knee_fraction`` x peak throughput and the lowest level
reaching it, so the saturation model gets points where the curve bends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from capplan.loadtest.shapes import (
    LoadTarget,
    SteadyConfig,
    StepComplete,
    StepResult,
    find_steady_start,
)
from capplan.loadtest.settings import DEFAULT_LEVEL, STRESS_MAX_DURATION_S, LoadTestSettings
from capplan.models.slo import Slo, evaluate_slos


def _declared(name: str) -> float:
    """The default declared for a :class:`LoadTestSettings` knob (one place for every default)."""
    return LoadTestSettings.__dataclass_fields__[name].default


@dataclass(frozen=True)
class StressConfig:
    """Knobs of the stress search; levels are users (closed) or req/s (open).

    Defaults are the declared :class:`~capplan.loadtest.settings.LoadTestSettings` ones;
    :func:`stress_config` maps a run's settings onto this. ``min_gain`` and
    ``knee_fraction`` are the search's own constants, not user knobs.
    """

    start_level: float = float(DEFAULT_LEVEL["stress"])
    growth: float = _declared("growth")
    max_level: float = _declared("max_level")
    step_s: float = _declared("step_s")
    max_step_s: float = _declared("max_step_s")
    max_duration_s: float = STRESS_MAX_DURATION_S
    min_gain: float = 0.05
    error_rate_max: float = _declared("error_rate_max")
    refine_steps: int = _declared("refine_steps")
    knee_fraction: float = 0.9
    integer_levels: bool = True
    steady: SteadyConfig = SteadyConfig(settle_s=_declared("settle_s"))


def stress_config(s: LoadTestSettings, steady: SteadyConfig) -> StressConfig:
    """The stress search of a run's settings (the one mapping from knobs to the controller)."""
    return StressConfig(start_level=s.level, growth=s.growth, max_level=s.max_level, step_s=s.step_s,
                        max_step_s=s.max_step_s, max_duration_s=s.effective_max_duration_s,
                        error_rate_max=s.error_rate_max, refine_steps=s.refine_steps,
                        integer_levels=not s.open_model, steady=steady)


@dataclass
class _Step:
    index: int
    stage: str
    level: float
    start_s: float


@dataclass
class StressController:
    """Adaptive stress plan; see the module docstring for the rules."""

    cfg: StressConfig
    slos: tuple[Slo, ...] = ()
    results: list[StepResult] = field(default_factory=list)
    stop_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    _current: _Step | None = None
    _refining: bool = False
    _bracket: tuple[float, float] | None = None
    _refined: int = 0
    _finished: bool = False
    _next_level: float | None = None

    @property
    def series_from_s(self) -> float:
        """Run second from which the runner should pass the current step's throughput."""
        return (self._current.start_s if self._current else 0.0) + self.cfg.steady.settle_s

    def decide(self, t_s: float, step_throughput_rps: Sequence[float] = ()) -> LoadTarget | StepComplete | None:
        """Target load at ``t_s``, or the end of the current step, or None when done."""
        if self._finished:
            return None
        if self._current is None:
            self._current = _Step(0, "step", self._round(self.cfg.start_level), t_s)
        step, elapsed = self._current, t_s - self._current.start_s
        measured = elapsed - self.cfg.steady.settle_s
        if measured >= self.cfg.steady.min_steady_s:
            done = self._step_done(t_s, elapsed, step_throughput_rps)
            if done is not None:
                return done
        elif t_s >= self.cfg.max_duration_s:
            self._stop("max duration reached before the step could settle")
            return None
        return LoadTarget(step.level, step.stage, step.index, spawn_rate=max(step.level, 1.0))

    def _step_done(self, t_s: float, elapsed: float, series: Sequence[float]) -> StepComplete | None:
        step, cfg = self._current, self.cfg
        start = find_steady_start(series, cfg.steady)
        out_of_time = t_s >= cfg.max_duration_s
        if start is not None and (self._held(elapsed, elapsed - cfg.steady.settle_s - start) or out_of_time):
            return self._complete(t_s, start)
        if elapsed >= cfg.max_step_s or out_of_time:
            self.notes.append(f"step {step.index} ({self._fmt(step.level)}) never reached steady state "
                              f"within {elapsed:.0f}s; its last {cfg.steady.min_steady_s}s were used")
            return self._complete(t_s, max(0, len(series) - cfg.steady.min_steady_s))
        return None

    def _held(self, elapsed_s: float, steady_s: float) -> bool:
        """A steady step is held ``step_s`` in all, ``step_s − settle_s`` of them steady, or to ``max_step_s``.

        ``steady_s`` runs from the steady start to now, as the window :meth:`_complete` reports
        (the series lags the clock by the second still being recorded). A ramp transient that
        outlasts the settle time does not shorten the window measured.
        """
        cfg = self.cfg
        wanted_s = max(cfg.steady.min_steady_s, cfg.step_s - cfg.steady.settle_s)
        return elapsed_s >= cfg.max_step_s or (elapsed_s >= cfg.step_s and steady_s >= wanted_s)

    def _complete(self, t_s: float, steady_index: int) -> StepComplete:
        step = self._current
        steady_start = step.start_s + self.cfg.steady.settle_s + steady_index
        if t_s >= self.cfg.max_duration_s:
            self.stop_reason = self.stop_reason or "max duration reached"
        return StepComplete(step.index, step.stage, step.level, step.start_s, steady_start, t_s)

    def record(self, result: StepResult, t_s: float) -> None:
        """Take the steady aggregates of the step just completed and plan the next one."""
        self.results.append(result)
        if self.stop_reason == "max duration reached":
            self._finished = True
            return
        nxt = self._refine_next(result) if self._refining else self._climb_next(result)
        if nxt is not None and t_s + self.cfg.step_s > self.cfg.max_duration_s:
            self._stop("max duration reached")
            nxt = None
        if nxt is None:
            self._finished = True
            return
        self._current = _Step(len(self.results), "refine" if self._refining else "step", nxt, t_s)

    def breaches(self, result: StepResult) -> list[str]:
        """Human-readable reasons why a step fails the SLOs or the error ceiling (empty if none)."""
        reasons = [f"{r.slo.text} (observed {r.observed:.4g})" for r in evaluate_slos(self.slos, result.observed)
                   if not r.met]
        if result.observed.get("error_rate", 0.0) > self.cfg.error_rate_max:
            reasons.append(f"error rate {result.observed['error_rate']:.2%} > {self.cfg.error_rate_max:.2%}")
        return reasons

    def _climb_next(self, result: StepResult) -> float | None:
        reasons = self.breaches(result)
        earlier = [r for r in self.results[:-1] if not self.breaches(r)]
        if reasons:
            self._stop(f"{'; '.join(reasons)} at {self._fmt(result.level)}")
            passing = [r.level for r in earlier if r.level < result.level]
            return self._start_refine((max(passing), result.level) if passing else None)
        best = max((r.throughput_rps for r in earlier), default=None)
        if best is not None and result.throughput_rps < best * (1 + self.cfg.min_gain):
            self._stop(f"throughput stopped rising ({result.throughput_rps:.1f} req/s at "
                       f"{self._fmt(result.level)} vs best {best:.1f} req/s)")
            return self._start_refine(self._knee_bracket())
        nxt = self._round(max(result.level * self.cfg.growth, result.level + 1))
        if nxt > self.cfg.max_level:
            self._stop(f"max level {self._fmt(self.cfg.max_level)} reached")
            return None
        return nxt

    def _knee_bracket(self) -> tuple[float, float] | None:
        ok = [r for r in self.results if not self.breaches(r)]
        peak = max(r.throughput_rps for r in ok)
        upper = min(r.level for r in ok if r.throughput_rps >= self.cfg.knee_fraction * peak)
        below = [r.level for r in ok if r.level < upper]
        return (max(below), upper) if below else None

    def _start_refine(self, bracket: tuple[float, float] | None) -> float | None:
        self._refining, self._bracket = True, bracket
        return self._midpoint()

    def _refine_next(self, result: StepResult) -> float | None:
        lo, hi = self._bracket
        if self.stop_reason and "stopped rising" in self.stop_reason:
            ok = [r for r in self.results if not self.breaches(r)]
            peak = max(r.throughput_rps for r in ok)
            good = not self.breaches(result) and result.throughput_rps < self.cfg.knee_fraction * peak
        else:
            good = not self.breaches(result)
        self._bracket = (result.level, hi) if good else (lo, result.level)
        return self._midpoint()

    def _midpoint(self) -> float | None:
        if self._bracket is None or self._refined >= self.cfg.refine_steps:
            return None
        lo, hi = self._bracket
        mid = self._round((lo + hi) / 2) if not self.cfg.integer_levels else float((int(lo) + int(hi)) // 2)
        if not lo < mid < hi or any(r.level == mid for r in self.results):
            return None
        self._refined += 1
        return mid

    def _stop(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason

    def _round(self, level: float) -> float:
        return float(math.ceil(level)) if self.cfg.integer_levels else round(level, 1)

    def _fmt(self, level: float) -> str:
        return f"{level:.0f} users" if self.cfg.integer_levels else f"{level:g} req/s"
