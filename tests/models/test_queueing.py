import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import ModelError
from capplan.models.queueing import erlang_b, erlang_c, ggc, mm1, mmc


@pytest.fixture
def erlang_rows(reference_dir):
    return pd.read_csv(reference_dir / "queueing" / "erlang_c.csv")


def _decimals(value: float) -> int:
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text else 0


def test_erlang_c_matches_every_published_reference_value(erlang_rows):
    for row in erlang_rows.itertuples():
        queue = mmc(int(row.servers_c), row.arrival_rate, 1.0 / row.service_rate)
        metric = row.metric
        if metric == "P_wait":
            got = queue.p_wait
        elif metric.startswith("service_level"):
            got = queue.service_level(row.t)
        elif metric.startswith("occupancy"):
            got = queue.utilization
        elif metric.startswith("Lq"):
            got = queue.queue_length
        else:
            raise AssertionError(f"unknown metric {metric}")
        tolerance = 0.5 * 10 ** -_decimals(row.value) + 1e-9  # values are rounded as published
        assert got == pytest.approx(row.value, abs=tolerance), (row.servers_c, metric)


def test_erlang_c_avoids_the_one_server_short_trap():
    assert erlang_c(25, 20.0) == pytest.approx(0.2091, abs=5e-5)
    assert erlang_c(25, 20.0) != pytest.approx(0.261, abs=0.01)


def test_erlang_b_small_case_matches_the_closed_form():
    a = 3.0  # B(2, a) = (a²/2) / (1 + a + a²/2)
    assert erlang_b(2, a) == pytest.approx((a * a / 2) / (1 + a + a * a / 2), rel=1e-12)


def test_erlang_c_is_finite_and_sane_for_ten_thousand_servers():
    value = erlang_c(10_000, 9_900.0)
    assert 0.0 < value < 1.0 and math.isfinite(value)


def test_mm1_is_the_single_server_special_case():
    lam, service_s = 8.0, 0.1  # ρ = 0.8, T ~ Exp(μ − λ) with μ − λ = 2/s
    queue = mm1(lam, service_s)
    assert queue.p_wait == pytest.approx(0.8)
    assert queue.wait_mean_s == pytest.approx(0.8 * 0.1 / 0.2)
    assert queue.response_mean_s == pytest.approx(1 / 2.0)
    assert queue.response_time_quantile_s(0.95) == pytest.approx(-math.log(0.05) / 2.0, rel=1e-8)


def test_mmc_response_time_cdf_matches_the_hypoexponential_closed_form():
    queue = mmc(4, 30.0, 0.1)  # μ = 10, θ = cμ − λ = 10: equal rates
    t = 0.3
    c = queue.p_wait
    both = 1 - math.exp(-10 * t) * (1 + 10 * t)  # Erlang-2 CDF
    expected = (1 - c) * (1 - math.exp(-10 * t)) + c * both
    assert queue.response_time_cdf(t) == pytest.approx(expected, rel=1e-10)


def test_allen_cunneen_reduces_to_erlang_c_for_exponential_variability():
    exact = mmc(3, 25.0, 0.1)
    approx = ggc(3, 25.0, 0.1, arrival_cv=1.0, service_cv=1.0)
    assert approx.wait_mean_s == pytest.approx(exact.wait_mean_s, rel=1e-12)


def test_allen_cunneen_waits_less_with_steadier_service():
    steady = ggc(3, 25.0, 0.1, arrival_cv=1.0, service_cv=0.2)
    exact = mmc(3, 25.0, 0.1)
    assert steady.wait_mean_s == pytest.approx(exact.wait_mean_s * (1 + 0.04) / 2, rel=1e-12)
    assert steady.response_time_quantile_s(0.95) < exact.response_time_quantile_s(0.95)


def test_unstable_queue_has_infinite_waits():
    queue = mmc(2, 25.0, 0.1)
    assert queue.utilization == pytest.approx(1.25)
    assert math.isinf(queue.wait_mean_s) and math.isinf(queue.response_time_quantile_s(0.5))


@pytest.mark.parametrize("servers", [0, 2.5, -1])
def test_invalid_server_count_is_a_model_error(servers):
    with pytest.raises(ModelError, match="whole number of servers"):
        mmc(servers, 1.0, 0.1)


@settings(max_examples=60, deadline=None)
@given(c=st.integers(1, 300), rho1=st.floats(0.01, 0.98), rho2=st.floats(0.01, 0.98))
def test_waiting_probability_rises_with_load(c, rho1, rho2):
    low, high = sorted((rho1, rho2))
    assert erlang_c(c, low * c) <= erlang_c(c, high * c) + 1e-12


@settings(max_examples=60, deadline=None)
@given(c=st.integers(1, 300), extra=st.integers(1, 50), load=st.floats(0.01, 0.99))
def test_waiting_probability_falls_with_more_servers(c, extra, load):
    a = load * c
    assert erlang_c(c + extra, a) <= erlang_c(c, a) + 1e-12


@settings(max_examples=40, deadline=None)
@given(c=st.integers(1, 64), rho=st.floats(0.05, 0.95), cv=st.floats(0.1, 2.0),
       q1=st.floats(0.05, 0.995), q2=st.floats(0.05, 0.995))
def test_response_time_percentiles_are_monotone(c, rho, cv, q1, q2):
    queue = ggc(c, rho * c / 0.05, 0.05, service_cv=cv)
    low, high = sorted((q1, q2))
    assert queue.response_time_quantile_s(low) <= queue.response_time_quantile_s(high) + 1e-9


@settings(max_examples=40, deadline=None)
@given(c=st.integers(1, 64), rho1=st.floats(0.05, 0.95), rho2=st.floats(0.05, 0.95))
def test_response_time_percentile_rises_with_load(c, rho1, rho2):
    low, high = sorted((rho1, rho2))
    p95 = [mmc(c, r * c / 0.05, 0.05).response_time_quantile_s(0.95) for r in (low, high)]
    assert p95[0] <= p95[1] + 1e-9


def test_erlang_c_for_ten_thousand_servers_matches_the_poisson_closed_form():
    # C(c, a) = P(c)·c/(c − a) / (F(c − 1) + P(c)·c/(c − a)) with P, F the Poisson(a) pmf and cdf:
    # an independent formula, evaluated by scipy without the recursion
    from scipy.stats import poisson

    c, a = 10_000, 9_900.0
    top = poisson.pmf(c, a) * c / (c - a)
    expected = top / (poisson.cdf(c - 1, a) + top)
    assert erlang_c(c, a) == pytest.approx(expected, rel=1e-9)
    assert erlang_b(c, a) == pytest.approx(poisson.pmf(c, a) / poisson.cdf(c, a), rel=1e-9)
