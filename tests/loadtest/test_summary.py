"""Run summary and SLO verdict: open-model achieved rate, generator bottleneck, verdict basis per scenario."""

from __future__ import annotations

import math

from capplan.loadtest.recorder import LoadState, ProcessSample, SecondBucket, StepWindow, second_row
from capplan.loadtest.settings import LoadTestSettings
from capplan.loadtest.summary import Series, build_summary, build_verdict

_HOST = "http://127.0.0.1:8089"


def _bucket(latencies_ms: list[float], intended: int = 0, errors: int = 0, cpu: float = 20.0) -> SecondBucket:
    bucket = SecondBucket(intended=intended, gen_cpu_pct=cpu)
    for v in latencies_ms:
        bucket.sketch.add(v)
        bucket.latency_sq_sum += v * v
    bucket.requests, bucket.errors = len(latencies_ms), errors
    return bucket


def _step(step: int, stage: str, seconds: list[SecondBucket], start_s: float = 0.0, users: int = 4) -> dict:
    """A finished step whose every second is steady, as the runner builds it."""
    window = StepWindow(step=step, stage=stage, level=users, steady_from_s=start_s)
    for i, bucket in enumerate(seconds):
        row = second_row(start_s + i, 1000 + int(start_s) + i, bucket, LoadState(stage, step, users, math.nan),
                         ProcessSample())
        window.add(row, bucket)
    return window.finish(start_s, start_s, start_s + len(seconds))


def _series(buckets: list[SecondBucket], stages: list[str] | None = None) -> tuple[Series, SecondBucket]:
    series, total = Series(), SecondBucket()
    for i, bucket in enumerate(buckets):
        state = LoadState(stages[i] if stages else "hold", 0, 4, math.nan)
        series.add(second_row(float(i), 1000 + i, bucket, state, ProcessSample()))
        total.merge(bucket)
    return series, total


def test_step_row_reports_intended_rate_and_achieved_ratio_in_the_open_model():
    row = _step(0, "hold", [_bucket([5.0] * 9, intended=10), _bucket([5.0] * 10, intended=10)])
    assert row["intended"] == 20 and row["intended_rps"] == 10.0
    assert math.isclose(row["achieved_ratio"], 19 / 20)


def test_closed_model_step_has_no_intended_rate():
    row = _step(0, "hold", [_bucket([5.0] * 10)])
    assert row["intended"] == 0
    assert math.isnan(row["intended_rps"]) and math.isnan(row["achieved_ratio"])


def test_open_model_achieved_ratio_counts_only_the_steps_steady_windows():
    """Arrivals drawn outside steps (ramp-down, the stop) must not read as a generator shortfall."""
    settings = LoadTestSettings(scenario="baseline", host=_HOST, rate_rps=10)
    steady = [_bucket([5.0] * 10, intended=10) for _ in range(3)]
    stopping = _bucket([], intended=25)  # drawn just before the stop, never sent
    series, total = _series([*steady, stopping])
    summary = build_summary(settings, total, series, [_step(0, "hold", steady)], {})
    assert summary["open_model"]["intended_requests"] == 30
    assert summary["open_model"]["completed_requests"] == 30
    assert summary["open_model"]["achieved_ratio"] == 1.0


def test_open_model_shortfall_shows_in_the_achieved_ratio():
    settings = LoadTestSettings(scenario="baseline", host=_HOST, rate_rps=100)
    steady = [_bucket([5.0] * 80, intended=100) for _ in range(2)]
    series, total = _series(steady)
    summary = build_summary(settings, total, series, [_step(0, "hold", steady)], {})
    assert math.isclose(summary["open_model"]["achieved_ratio"], 0.8)


def test_seconds_with_generator_cpu_over_90_percent_are_flagged():
    settings = LoadTestSettings(scenario="baseline", host=_HOST, users=4)
    buckets = [_bucket([5.0], cpu=50.0), _bucket([5.0], cpu=95.0), _bucket([5.0], cpu=91.0)]
    series, total = _series(buckets)
    summary = build_summary(settings, total, series, [], {})
    assert summary["generator_bottleneck"] is True
    assert summary["generator_cpu_over_90pct_s"] == [1.0, 2.0]


def test_generator_below_90_percent_is_not_flagged():
    settings = LoadTestSettings(scenario="baseline", host=_HOST, users=4)
    series, total = _series([_bucket([5.0], cpu=89.9)])
    assert build_summary(settings, total, series, [], {})["generator_bottleneck"] is False


def test_the_shutdown_second_is_neither_flagged_nor_counted_in_the_throughput():
    settings = LoadTestSettings(scenario="baseline", host=_HOST, users=4)
    buckets = [_bucket([5.0] * 400, cpu=20.0), _bucket([5.0] * 400, cpu=20.0), _bucket([5.0] * 9, cpu=95.0)]
    series, total = _series(buckets, ["hold", "hold", "stopping"])
    summary = build_summary(settings, total, series, [], {})
    assert summary["generator_bottleneck"] is False
    assert summary["totals"]["throughput_rps"] == 400.0 and summary["totals"]["duration_s"] == 2.0
    assert summary["totals"]["requests"] == 809


def test_baseline_verdict_is_taken_on_the_hold_step_not_the_ramp():
    settings = LoadTestSettings(scenario="baseline", host=_HOST, users=4, slos=("p95<100ms",))
    ramp = _step(0, "ramp", [_bucket([900.0] * 20)])
    hold = _step(1, "hold", [_bucket([10.0] * 20)], start_s=1.0)
    verdict = build_verdict(settings, [ramp, hold], {})
    assert verdict.slos_met is True and "hold step" in verdict.basis
    assert math.isclose(verdict.results[0]["observed"], 10.0, rel_tol=0.01)


def test_baseline_verdict_breaches_when_the_hold_p95_is_over_the_slo():
    settings = LoadTestSettings(scenario="baseline", host=_HOST, users=4, slos=("p95<100ms", "error_rate<1%"))
    hold = _step(1, "hold", [_bucket([10.0] * 90 + [500.0] * 10)])
    verdict = build_verdict(settings, [hold], {})
    assert verdict.slos_met is False
    assert [r["met"] for r in verdict.results] == [False, True]


def test_stress_verdict_names_the_highest_throughput_step_meeting_every_slo():
    settings = LoadTestSettings(scenario="stress", host=_HOST, slos=("p95<100ms",))
    steps = [_step(0, "step", [_bucket([10.0] * 100)], users=1),
             _step(1, "step", [_bucket([20.0] * 200)], start_s=1, users=2),
             _step(2, "step", [_bucket([300.0] * 210)], start_s=2, users=4)]
    verdict = build_verdict(settings, steps, {})
    assert verdict.slos_met is True and "step 1 (2 users, 200.0 req/s)" in verdict.basis


def test_stress_verdict_breaches_when_not_even_the_lowest_step_meets_the_slo():
    settings = LoadTestSettings(scenario="stress", host=_HOST, slos=("p95<5ms",))
    verdict = build_verdict(settings, [_step(0, "step", [_bucket([10.0] * 100)], users=1)], {})
    assert verdict.slos_met is False and "not even the lowest load" in verdict.basis


def test_spike_verdict_breaches_when_the_service_did_not_recover_even_if_slos_hold():
    settings = LoadTestSettings(scenario="spike", host=_HOST, users=2, slos=("p95<100ms",))
    post = _step(2, "post", [_bucket([10.0] * 50)])
    assert build_verdict(settings, [post], {"spike": {"recovered": True}}).slos_met is True
    verdict = build_verdict(settings, [post], {"spike": {"recovered": False}})
    assert verdict.slos_met is False and "did not recover" in verdict.basis


def test_no_slo_gives_no_verdict():
    settings = LoadTestSettings(scenario="soak", host=_HOST, users=2)
    verdict = build_verdict(settings, [_step(1, "soak", [_bucket([10.0])])], {})
    assert verdict.slos_met is None


def test_a_run_cut_before_the_verdict_step_breaches():
    settings = LoadTestSettings(scenario="soak", host=_HOST, users=2, slos=("p95<100ms",))
    verdict = build_verdict(settings, [_step(0, "ramp", [_bucket([10.0])])], {})
    assert verdict.slos_met is False and "cut short" in verdict.basis
