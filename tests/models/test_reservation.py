"""Newsvendor reservations: closed forms on known distributions, optimality and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import ModelError
from capplan.models.cost import PriceSheet
from capplan.models.reservation import (
    critical_ratio,
    newsvendor_count,
    newsvendor_reserved,
    path_costs,
    price_options,
    recipe_reserved,
)


@pytest.mark.parametrize("discount", [0.1, 0.37, 0.5, 0.57, 0.9])
def test_newsvendor_count_on_uniform_demand_equals_the_closed_form(discount):
    """N uniform on {10, …, 29} over a term: P(N ≥ k) = (30 − k) / 20 ≥ 1 − δ ⇔ k ≤ 30 − 20(1 − δ)."""
    need = np.tile(np.arange(10, 30), 50)  # every value equally often over the term's hours
    assert newsvendor_count(need, critical_ratio(discount)) == math.floor(30 - 20 * (1 - discount) + 1e-9)


def test_newsvendor_count_is_the_discount_quantile_of_a_continuous_uniform():
    """Fleet size U(0, 100) rounded up: the δ-quantile is 100·δ, so δ = 0.37 reserves 37 (±1 for rounding)."""
    need = np.ceil(np.random.default_rng(0).uniform(0, 100, size=200_000))
    assert abs(newsvendor_count(need, critical_ratio(0.37)) - 37) <= 1


def test_term_days_past_the_horizon_count_as_hours_without_need():
    """5 instances needed on 100 of a term's 365 days: P(N ≥ 5) = 0.27, worth it only when 1 − δ ≤ 0.27."""
    need = np.full((1, 100), 5)
    assert newsvendor_reserved(need, 365, critical_ratio(0.37)) == (0,)
    assert newsvendor_reserved(need, 365, critical_ratio(0.8)) == (5,)


def test_spot_overflow_cheaper_than_the_reservation_reserves_nothing():
    """(1 − 0.37) / (1 − 0.6) = 1.575 > 1: spot beats the reservation in every hour."""
    assert critical_ratio(0.37, 0.6) > 1
    assert newsvendor_count(np.full(100, 8), critical_ratio(0.37, 0.6)) == 0


def test_path_costs_hand_computed():
    """Days of 10 USD, need 3 then 5, reserve 4 at 50 % off for a 2-day term.

    Fixed 4 × 10 × 2 × 0.5 = 40; overflow day 2: 1 × 10 = 10 → 50. Idle: 1 of 8 reserved days.
    """
    cost, idle = path_costs(np.array([[3, 5]]), np.array([10.0, 10.0]), (4,), 2, (10.0 / 24, 0.5, 0.0))
    assert cost.tolist() == [50.0] and idle == pytest.approx(1 / 8)


def test_path_costs_charge_the_term_past_the_horizon():
    """One 3-day term over a 2-day horizon: the third day costs hourly × 24 × (1 − δ) per reserved instance."""
    cost, idle = path_costs(np.array([[4, 4]]), np.array([24.0, 24.0]), (4,), 3, (1.0, 0.5, 0.0))
    assert cost.tolist() == [4 * 24 * 3 * 0.5] and idle == pytest.approx(1 / 3)


def test_recipe_reserves_each_blocks_p50_minimum():
    assert recipe_reserved(np.array([3, 4, 5, 6, 7]), 2) == (3, 5, 7)


@settings(max_examples=30, deadline=None)
@given(low=st.integers(0, 20), spread=st.integers(1, 30), discount=st.floats(0.05, 0.9), seed=st.integers(0, 99))
def test_the_newsvendor_count_minimises_the_expected_cost(low, spread, discount, seed):
    """Reserving one more or one fewer never costs less in expectation over the same paths."""
    sizes = np.random.default_rng(seed).integers(low, low + spread, size=(50, 60))
    rate = np.full(60, 2.4)
    k = newsvendor_reserved(sizes, 60, critical_ratio(discount))[0]
    expected = {r: float(path_costs(sizes, rate, (r,), 60, (0.1, discount, 0.0))[0].mean())
                for r in (max(k - 1, 0), k, k + 1)}
    assert expected[k] <= min(expected.values()) + 1e-6


@settings(max_examples=40, deadline=None)
@given(discount=st.floats(0.0, 0.95), more=st.floats(0.0, 0.5), seed=st.integers(0, 99))
def test_a_bigger_discount_never_reserves_fewer(discount, more, seed):
    sizes = np.random.default_rng(seed).poisson(12, size=(40, 365))
    bigger = min(discount + more, 0.99)
    assert newsvendor_count(sizes, critical_ratio(bigger)) >= newsvendor_count(sizes, critical_ratio(discount))


def test_options_are_priced_on_every_path_and_the_cheapest_without_spot_is_recommended():
    rng = np.random.default_rng(1)
    sizes = 6 + np.arange(730)[None, :] // 120 + rng.integers(0, 3, size=(500, 1))  # grows, uncertain level
    sheet = PriceSheet("USD", 0.096, 730.0, 0.37, 0.57, 0.60)
    advice = price_options(sizes, np.full(730, 0.096 * 24), sizes.min(axis=0), sheet)
    names = [o.name for o in advice.options]
    assert names[0] == "all on-demand" and len(names) == 9
    best = min((o for o in advice.options if not o.spot), key=lambda o: o.expected_cost)
    assert advice.recommended == best.name and "newsvendor" in best.name
    assert all(o.p90_cost >= o.expected_cost - 1e-6 for o in advice.options)
    assert "spot capacity can be reclaimed" in advice.reason  # spot peaks are cheaper still, with the caveat


def test_bad_discounts_are_refused():
    with pytest.raises(ModelError, match="discounts"):
        critical_ratio(1.0)
