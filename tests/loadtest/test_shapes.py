"""Pure shapes: fixed schedules, steady-state detection and the adaptive stress search."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.loadtest.shapes import (
    FixedController,
    LoadTarget,
    SteadyConfig,
    StepComplete,
    StepResult,
    baseline_phases,
    find_steady_start,
    spike_phases,
)
from capplan.loadtest.stress import StressConfig, StressController
from capplan.models.slo import parse_slos


def _targets(controller, until_s):
    out = []
    for t in range(until_s):
        d = controller.decide(float(t))
        while isinstance(d, StepComplete):
            out.append(d)
            d = controller.decide(float(t))
        out.append(d)
    return out


def test_baseline_ramps_linearly_then_holds_the_level():
    ctl = FixedController(baseline_phases(10, ramp_s=5, hold_s=10))
    levels = [d.level for d in _targets(ctl, 15) if isinstance(d, LoadTarget)]
    assert levels[:5] == [2, 4, 6, 8, 10]
    assert set(levels[5:]) == {10}


def test_fixed_schedule_ends_with_none_after_reporting_its_last_step():
    ctl = FixedController(baseline_phases(4, ramp_s=0, hold_s=3))
    out = _targets(ctl, 5)
    completes = [d for d in out if isinstance(d, StepComplete)]
    assert [c.step for c in completes] == [0]
    assert out[-1] is None


def test_spike_surges_to_the_multiplier_within_one_second_and_returns():
    ctl = FixedController(spike_phases(10, multiplier=5, pre_s=5, window_s=5, post_s=5))
    targets = [d for d in _targets(ctl, 15) if isinstance(d, LoadTarget)]
    assert [t.level for t in targets] == [10] * 5 + [50] * 5 + [10] * 5
    assert targets[5].spawn_rate >= 40
    assert [t.stage for t in targets][4:6] == ["pre", "spike"]


def test_the_drop_after_a_spike_also_lands_within_one_second():
    ctl = FixedController(spike_phases(2, multiplier=10, pre_s=5, window_s=4, post_s=7))
    targets = [d for d in _targets(ctl, 16) if isinstance(d, LoadTarget)]
    post = next(t for t in targets if t.stage == "post")
    assert post.level == 2 and post.spawn_rate >= 18  # Locust stops the 18 surplus users at this rate


def test_steady_start_drops_a_ramp_transient():
    series = [50, 120, 180, 200, 201, 199, 200, 202]
    assert find_steady_start(series, SteadyConfig(min_steady_s=3)) == 2
    assert find_steady_start(series, SteadyConfig(min_steady_s=3, cv_max=0.02)) == 3


def test_a_still_rising_series_is_not_steady():
    assert find_steady_start([100, 130, 160, 190, 220], SteadyConfig(min_steady_s=3, cv_max=0.5)) is None


@settings(max_examples=50, deadline=None)
@given(st.floats(10, 5000), st.integers(3, 30), st.integers(0, 10_000))
def test_noise_around_a_constant_level_is_steady(level, n, seed):
    rng = np.random.default_rng(seed)
    series = level * (1 + rng.uniform(-0.03, 0.03, size=n))
    assert find_steady_start(series, SteadyConfig(min_steady_s=3)) == 0


def _saturating(capacity_rps, per_user_rps=100.0, error_from=None, latency_ms=None):
    """A closed system: X(N) = min(N * per_user, capacity); latency from Little's law."""

    def measure(level):
        thr = min(level * per_user_rps, capacity_rps)
        errors = 0.2 if error_from is not None and level >= error_from else 0.0
        lat = latency_ms(level) if latency_ms else 1000 * level / thr
        observed = {"p50": lat, "p95": lat * 1.5, "p99": lat * 2, "p99.9": lat * 3, "max": lat * 4,
                    "mean": lat, "error_rate": errors}
        return thr, observed

    return measure


def _run_stress(ctl: StressController, measure, max_t=10_000):
    """Drive the controller with a perfectly steady synthetic system, 1 s per tick."""
    t, levels = 0.0, []
    while t < max_t:
        d = ctl.decide(t, [measure(ctl._current.level)[0]] * 10 if ctl._current else [])
        if d is None:
            return levels
        if isinstance(d, StepComplete):
            thr, observed = measure(d.level)
            levels.append(d.level)
            ctl.record(StepResult(d.step, d.level, thr, observed), t)
        t += 1
    raise AssertionError("stress never stopped")


def test_stress_stops_when_throughput_plateaus_and_refines_below_the_knee():
    ctl = StressController(StressConfig(step_s=5, max_step_s=10))
    levels = _run_stress(ctl, _saturating(400))
    assert levels[:5] == [1, 2, 4, 8, 3]
    assert "stopped rising" in ctl.stop_reason


def test_stress_stops_when_the_latency_slo_is_breached():
    ctl = StressController(StressConfig(step_s=5, refine_steps=2), parse_slos(["p95<50ms"]))
    levels = _run_stress(ctl, _saturating(10_000, latency_ms=lambda n: 5.0 * n))
    # p95 = 7.5 ms * n: 4 users -> 30 ms ok, 8 -> 60 ms breach, refine 6 (45 ms ok), 7 (52.5 ms breach)
    assert levels == [1, 2, 4, 8, 6, 7]
    assert "p95<50ms" in ctl.stop_reason


def test_stress_stops_when_errors_pass_the_threshold():
    ctl = StressController(StressConfig(step_s=5, refine_steps=0, error_rate_max=0.05))
    levels = _run_stress(ctl, _saturating(10_000, error_from=16))
    assert levels == [1, 2, 4, 8, 16]
    assert "error rate" in ctl.stop_reason


def test_stress_never_plans_a_step_past_max_duration():
    ctl = StressController(StressConfig(step_s=5, max_step_s=5, max_duration_s=30))
    _run_stress(ctl, _saturating(1e9))
    assert ctl.stop_reason.startswith("max duration")


def test_open_model_levels_are_rates_that_double():
    ctl = StressController(StressConfig(start_level=10, step_s=5, integer_levels=False))
    levels = _run_stress(ctl, _saturating(100, per_user_rps=1.0))
    assert levels[:5] == [10, 20, 40, 80, 160]


def test_unsteady_step_is_closed_at_max_step_duration_with_a_note():
    ctl = StressController(StressConfig(step_s=4, max_step_s=8, refine_steps=0))
    t, d = 0.0, None
    while not isinstance(d, StepComplete):
        d = ctl.decide(t, [100 * (1 + i) for i in range(int(max(0, t - 2)))])
        t += 1
    assert d.end_s == 8
    assert ctl.notes and "never reached steady state" in ctl.notes[0]


def test_a_step_whose_ramp_outlasts_the_settle_time_is_held_for_its_full_steady_window():
    """Three ramp seconds after the 2 s settle: the step runs on until 8 steady seconds are in."""
    ctl = StressController(StressConfig(step_s=10, max_step_s=20, refine_steps=0))
    t, d = 0.0, None
    while not isinstance(d, StepComplete):
        n = int(max(0, t - 2))
        d = ctl.decide(t, ([40.0, 70.0, 85.0] + [100.0] * 20)[:n])
        t += 1
    assert d.end_s > 10
    assert d.end_s - d.steady_start_s >= 8
    assert not ctl.notes
