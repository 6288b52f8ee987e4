import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import InputDataError
from capplan.models.saturation import estimate_saturation
from capplan.models.slo import parse_slos
from capplan.models.steps import Measurements

USERS = np.array([1, 2, 4, 8, 16, 32, 64], dtype=float)


def _closed_steps(servers: int, service_ms: float, users=USERS, p95_factor: float = 3.0, **extra) -> Measurements:
    """An ideal closed-loop test of c servers: X = min(N, c)/s and R = N/X (Little, no think time)."""
    x = np.minimum(users, servers) * 1000.0 / service_ms
    r = 1000.0 * users / x
    return Measurements(concurrency=users, throughput_rps=x, latency_ms={"mean": r, "p95": r * p95_factor},
                        latency_std_ms=r.copy(), **extra)


def test_max_throughput_is_the_plateau_of_a_saturated_test():
    est = estimate_saturation(_closed_steps(2, 20.0))
    assert est.max_throughput_rps == pytest.approx(100.0)  # c/s = 2/0.020 s
    assert est.max_throughput_basis == "measured plateau"
    lo, hi = est.max_throughput_ci_rps
    assert lo <= 100.0 <= hi


def test_knee_is_where_the_linear_rise_meets_the_plateau():
    est = estimate_saturation(_closed_steps(8, 5.0))
    assert est.knee_concurrency == pytest.approx(8.0)  # X_max·R0 = 1600/s · 5 ms
    assert est.effective_servers == 8


def test_safe_throughput_solves_the_mm1_percentile_in_closed_form():
    # M/M/1 with s = 10 ms: T ~ Exp(μ − λ), p95 = ln(20)/(μ − λ) = 100 ms ⇒ λ = 100 − ln(20)/0.1
    est = estimate_saturation(_closed_steps(1, 10.0, p95_factor=1.0), parse_slos(["p95<100ms"]))
    assert est.effective_servers == 1
    assert est.safe_throughput_rps == pytest.approx(100.0 - math.log(20.0) / 0.1, rel=1e-6)
    assert "queueing model" in est.safe_basis


def test_safe_throughput_solves_the_mm1_mean_in_closed_form():
    # M/M/1 mean response 1/(μ − λ) = 40 ms ⇒ λ = 100 − 25 = 75 req/s
    est = estimate_saturation(_closed_steps(1, 10.0, p95_factor=1.0), parse_slos(["mean<40ms"]))
    assert est.safe_throughput_rps == pytest.approx(75.0, rel=1e-6)


def test_loose_slo_leaves_the_target_utilisation_as_the_limit():
    est = estimate_saturation(_closed_steps(2, 20.0), parse_slos(["p95<5s"]), target_utilization=0.7)
    assert est.safe_throughput_rps == pytest.approx(70.0)
    assert est.safe_basis == "target utilisation"


def test_a_step_that_broke_the_slo_caps_the_safe_throughput():
    steps = _closed_steps(8, 5.0, users=np.array([1, 2, 3, 4, 6, 8, 16, 32.0]))
    p95 = steps.latency("p95").copy()
    p95[3] = 500.0  # the 4-user step (800 req/s) measured far over the SLO
    broken = Measurements(concurrency=steps.concurrency, throughput_rps=steps.throughput_rps,
                          latency_ms={"mean": steps.latency("mean"), "p95": p95}, latency_std_ms=steps.latency_std_ms)
    est = estimate_saturation(broken, parse_slos(["p95<400ms"]))
    assert est.safe_throughput_rps <= 600.0  # the 3-user step, the last one that met the SLO
    assert "broken at measured 800.0" in est.safe_basis


def test_unreachable_slo_gives_zero_safe_throughput_and_says_why():
    est = estimate_saturation(_closed_steps(2, 20.0), parse_slos(["p95<5ms"]))
    assert est.safe_throughput_rps == 0.0
    assert any("cannot be met at any load" in w for w in est.warnings)


def test_unsaturated_test_warns_that_the_maximum_is_not_measured():
    n = np.array([1, 2, 3, 4, 5, 6], dtype=float)
    est = estimate_saturation(Measurements(concurrency=n, throughput_rps=100.0 * n,
                                           latency_ms={"mean": np.full(6, 10.0)}))
    assert any("did not saturate" in w for w in est.warnings)
    assert est.max_throughput_rps >= 600.0


def test_usl_misfit_over_twenty_percent_warns_which_number_is_used():
    # one user at 10 req/s, then a flat 100 req/s: no USL curve passes near both
    n = np.array([1, 2, 4, 8, 16, 32.0])
    x = np.array([10, 100, 100, 100, 100, 100.0])
    est = estimate_saturation(Measurements(concurrency=n, throughput_rps=x, latency_ms={"mean": 1000 * n / x}))
    assert max(abs(s.usl_error) for s in est.steps) > 0.2
    assert est.max_throughput_basis == "measured plateau"
    assert est.max_throughput_rps == pytest.approx(100.0)
    assert any("disagree by" in w and "uses the measured plateau" in w for w in est.warnings)


def test_close_usl_fit_gives_no_disagreement_warning():
    truth = 50.0 * USERS / (1 + 0.05 * (USERS - 1) + 0.002 * USERS * (USERS - 1))
    est = estimate_saturation(Measurements(concurrency=USERS, throughput_rps=truth,
                                           latency_ms={"mean": 1000 * USERS / truth}))
    assert max(abs(s.usl_error) for s in est.steps) < 0.01
    assert not any("disagree" in w for w in est.warnings)


def test_measured_service_time_variability_feeds_the_allen_cunneen_queue():
    steady = _closed_steps(4, 10.0, p95_factor=1.0)
    steady = Measurements(concurrency=steady.concurrency, throughput_rps=steady.throughput_rps,
                          latency_ms=dict(steady.latency_ms), latency_std_ms=0.1 * steady.latency("mean"))
    slo = parse_slos(["p95<25ms"])
    low_cv, exponential = estimate_saturation(steady, slo), estimate_saturation(_closed_steps(4, 10.0), slo)
    assert low_cv.service_cv == pytest.approx(0.1)
    assert exponential.service_cv == pytest.approx(1.0)
    assert low_cv.safe_throughput_rps > exponential.safe_throughput_rps


def test_conservative_queueing_model_is_reported_with_the_number_used():
    # one user never queues, so its p95 is the service time; Poisson arrivals at 100 req/s do queue
    est = estimate_saturation(_closed_steps(4, 10.0, p95_factor=1.0), parse_slos(["p95<100ms"]))
    assert any("keeps the model, which is conservative" in w for w in est.warnings)


def test_little_law_shortfall_flags_generator_starvation():
    steps = _closed_steps(4, 10.0)
    mean = steps.latency("mean").copy()
    mean[-1] = mean[-1] / 2  # 64 users but only half of them inside requests
    starved = Measurements(concurrency=steps.concurrency, throughput_rps=steps.throughput_rps,
                           latency_ms={"mean": mean})
    est = estimate_saturation(starved)
    assert any("generator starvation" in f for f in est.steps[-1].flags)
    assert not est.steps[0].flags


def test_busy_generator_cpu_flags_a_client_side_bottleneck():
    steps = _closed_steps(4, 10.0, gen_cpu_pct=np.array([10, 20, 40, 60, 80, 95, 99.0]))
    est = estimate_saturation(steps)
    assert any("client-side bottleneck" in f for f in est.steps[-1].flags)
    assert not any("client-side" in f for f in est.steps[0].flags)


def test_open_model_shortfall_and_late_sends_are_flagged():
    n = np.array([0.5, 1.0, 2.0, 3.0, 3.9, 4.0])
    x = np.array([50, 100, 200, 300, 390, 395.0])
    m = Measurements(concurrency=n, throughput_rps=x, latency_ms={"mean": 1000 * n / x},
                     offered_rps=np.array([50, 100, 200, 300, 390, 600.0]), error_rate=np.zeros(6),
                     gen_lag_ms=np.array([0, 0, 0, 0, 0, 80.0]), load_model="open")
    flags = estimate_saturation(m).steps[-1].flags
    assert any("generator starvation" in f for f in flags)
    assert any("coordinated omission" in f for f in flags)


def test_target_cpu_gives_the_service_demand_by_the_utilisation_law():
    steps = _closed_steps(2, 20.0, target_cpu_pct=np.array([5, 10, 10, 10, 10, 10, 10.0]))
    est = estimate_saturation(steps)
    assert est.service_demand_cpu_ms == pytest.approx(1.0)  # D = U/X = 0.10 / 100 req/s = 1 ms


def test_json_has_the_product_contract_keys_and_no_nan():
    est = estimate_saturation(_closed_steps(2, 20.0), parse_slos(["p95<300ms"]))
    data = json.loads(json.dumps(est.to_dict(), allow_nan=False))
    sat = data["saturation"]
    for key in ("max_throughput_rps", "safe_throughput_rps", "knee_concurrency", "usl", "warnings"):
        assert key in sat
    assert set(sat["usl"]) >= {"sigma", "kappa", "lambda", "peak_concurrency", "peak_throughput_rps"}
    assert isinstance(sat["warnings"], list)


def test_a_single_concurrency_level_is_an_input_error():
    with pytest.raises(InputDataError, match="load levels"):
        estimate_saturation(Measurements(concurrency=np.full(4, 8.0), throughput_rps=np.array([90, 91, 92, 93.0])))


@pytest.mark.parametrize("x", [np.full(4, np.nan), np.zeros(4)])
def test_all_nan_or_zero_throughput_is_an_input_error(x):
    with pytest.raises(InputDataError, match="throughput"):
        estimate_saturation(Measurements(concurrency=np.array([1, 2, 4, 8.0]), throughput_rps=x))


def test_negative_values_are_an_input_error_naming_the_row():
    with pytest.raises(InputDataError, match="row 2"):
        estimate_saturation(Measurements(concurrency=np.array([1, 2, 4, 8.0]),
                                         throughput_rps=np.array([10, 20, -40, 80.0])))


def test_nan_rows_are_dropped_with_a_warning():
    steps = _closed_steps(2, 20.0)
    x = steps.throughput_rps.copy()
    x[3] = np.nan
    est = estimate_saturation(Measurements(concurrency=steps.concurrency, throughput_rps=x,
                                           latency_ms={"mean": steps.latency("mean")}))
    assert any("were ignored" in w for w in est.warnings)
    assert len(est.steps) == USERS.size - 1


@settings(max_examples=25, deadline=None)
@given(servers=st.integers(1, 16), service_ms=st.floats(1.0, 200.0), util=st.floats(0.3, 1.0),
       slo_factor=st.floats(1.0, 20.0))
def test_safe_throughput_never_exceeds_the_utilisation_cap(servers, service_ms, util, slo_factor):
    slo = parse_slos([f"p95<{service_ms * slo_factor:.3f}ms"])
    est = estimate_saturation(_closed_steps(servers, service_ms), slo, target_utilization=util)
    assert 0.0 <= est.safe_throughput_rps <= util * est.max_throughput_rps * (1 + 1e-9)


@settings(max_examples=20, deadline=None)
@given(servers=st.integers(1, 8), t1=st.floats(20.0, 400.0), t2=st.floats(20.0, 400.0))
def test_a_looser_slo_never_lowers_the_safe_throughput(servers, t1, t2):
    tight, loose = sorted((t1, t2))
    steps = _closed_steps(servers, 10.0, p95_factor=1.0)
    safe = [estimate_saturation(steps, parse_slos([f"p95<{t:.4f}ms"])).safe_throughput_rps for t in (tight, loose)]
    assert safe[0] <= safe[1] + 1e-6


def test_optimistic_queueing_model_warns_and_defers_to_measured_evidence():
    users = np.array([1, 2, 3, 4, 8, 16.0])
    x = np.minimum(users, 8) * 100.0  # 8 servers of 10 ms
    p95 = np.array([50, 60, 70, 400, 500, 900.0])  # far slower than 10 ms service predicts, broken at 400 req/s
    m = Measurements(concurrency=users, throughput_rps=x, latency_ms={"mean": 1000 * users / x, "p95": p95},
                     latency_std_ms=1000 * users / x)
    est = estimate_saturation(m, parse_slos(["p95<300ms"]))
    assert any("the model is optimistic here" in w for w in est.warnings)
    assert est.safe_throughput_rps == pytest.approx(300.0)


def test_closed_loop_latency_beyond_the_think_time_flags_coordinated_omission():
    users = np.array([1, 2, 4, 8, 16, 32.0])
    x = np.minimum(users, 4) * 1000.0 / (10.0 + 50.0)  # 10 ms service, 50 ms think time
    r = 1000.0 * users / x - 50.0
    p99 = np.where(users >= 16, 2 * r + 60.0, 12.0)
    m = Measurements(concurrency=users, throughput_rps=x, latency_ms={"mean": r, "p99": p99}, think_time_s=0.05)
    est = estimate_saturation(m)
    assert any("coordinated omission" in f for f in est.steps[-1].flags)
    assert not any("coordinated omission" in f for f in est.steps[0].flags)


def test_more_users_in_requests_than_exist_is_flagged_as_mis_recorded():
    steps = _closed_steps(4, 10.0)
    mean = steps.latency("mean").copy()
    mean[-1] = 2 * mean[-1]  # X·R twice the 64 users: latency or think time recorded wrong
    est = estimate_saturation(Measurements(concurrency=steps.concurrency, throughput_rps=steps.throughput_rps,
                                           latency_ms={"mean": mean}))
    assert est.steps[-1].little_ratio == pytest.approx(2.0)
    assert any("mis-recorded" in f for f in est.steps[-1].flags)


def test_error_rate_slo_is_checked_against_the_measured_steps():
    errors = np.array([0, 0, 0.001, 0.03, 0.04, 0.05, 0.08])  # breaks error_rate<1% from 8 users on
    steps = _closed_steps(8, 5.0, error_rate=errors)
    est = estimate_saturation(steps, parse_slos(["error_rate<1%"]))
    assert est.safe_throughput_rps == pytest.approx(800.0)  # the 4-user step, last one under 1 % errors
    assert "error_rate<1% broken at measured 1600.0" in est.safe_basis


def test_slo_is_solved_at_the_pessimistic_end_of_the_max_throughput_interval():
    # one 10 ms server read with noise; the 1-user latency floor (12 ms) includes client time
    n = np.array([1, 2, 4, 8, 16, 32.0])
    x = np.array([83, 98, 101, 99, 102, 100.0])
    mean = 1000 * n / x
    est = estimate_saturation(Measurements(concurrency=n, throughput_rps=x, latency_ms={"mean": mean, "p95": mean},
                                           latency_std_ms=mean), ["p95<100ms"])
    lo, _ = est.max_throughput_ci_rps
    assert est.effective_servers == 1 and lo < est.max_throughput_rps
    assert est.slo_service_time_ms == pytest.approx(1000.0 / lo)
    # M/M/1 at service rate X_lo: p95 = ln(20)/(X_lo − λ) = 100 ms
    assert est.safe_throughput_rps == pytest.approx(lo - math.log(20.0) / 0.1, rel=1e-6)
    assert est.safe_throughput_rps < est.max_throughput_rps - math.log(20.0) / 0.1


def test_pessimistic_service_time_never_exceeds_the_latency_floor():
    n = np.array([1, 2, 4, 8, 16.0])
    x = np.array([95, 100, 60, 124, 118.5])  # a two-step plateau: its t-interval reaches far down
    mean = 1000 * n / x
    mean[0] = 10.5
    est = estimate_saturation(Measurements(concurrency=n, throughput_rps=x, latency_ms={"mean": mean}))
    lo, _ = est.max_throughput_ci_rps
    assert 1000.0 * est.effective_servers / lo > est.latency_floor_ms  # c/X_lo alone would exceed the floor
    assert est.slo_service_time_ms == pytest.approx(est.latency_floor_ms)


def test_utilisation_cap_applies_to_the_pessimistic_capacity():
    n = np.array([1, 2, 4, 8, 16, 32.0])
    x = np.array([83, 98, 101, 99, 102, 100.0])  # one server; the plateau is read with noise
    mean = 1000 * n / x
    est = estimate_saturation(Measurements(concurrency=n, throughput_rps=x, latency_ms={"mean": mean}),
                              ["p95<10s"], target_utilization=0.8)
    lo, _ = est.max_throughput_ci_rps
    assert est.safe_basis == "target utilisation"
    assert est.safe_throughput_rps == pytest.approx(0.8 * lo)  # not 0.8 × the point estimate 100


def test_the_plateau_steps_are_named_and_average_to_the_max_throughput():
    """A noisy plateau: the steps kept (within 5 % of the highest, past the knee) are the ones averaged."""
    steps = _closed_steps(4, 20.0)
    x = steps.throughput_rps * np.array([1.0, 1.0, 1.0, 0.99, 1.03, 0.93, 1.0])  # 8 … 64 users saturated
    est = estimate_saturation(Measurements(concurrency=steps.concurrency, throughput_rps=x,
                                           latency_ms=steps.latency_ms, latency_std_ms=steps.latency_std_ms))
    assert est.max_throughput_basis == "measured plateau"
    assert est.plateau_rps == pytest.approx((198.0, 206.0, 200.0))  # 32 users (186) is more than 5 % below 206
    assert est.max_throughput_rps == pytest.approx(np.mean(est.plateau_rps))
