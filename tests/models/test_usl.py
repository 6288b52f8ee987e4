import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.errors import InputDataError, NotFittedError
from capplan.models.usl import UslFit, UslModel, fit_usl


def _sig3(value: float) -> str:
    return f"{value:.3g}"


@pytest.fixture
def specsdm91(reference_dir):
    return pd.read_csv(reference_dir / "usl" / "usl_specsdm91.csv")


@pytest.fixture
def raytracer(reference_dir):
    return pd.read_csv(reference_dir / "usl" / "usl_raytracer.csv")


def test_specsdm91_fit_reproduces_r_usl_to_three_significant_digits(specsdm91):
    fit = fit_usl(specsdm91["load"], specsdm91["throughput"])
    assert _sig3(fit.sigma) == _sig3(0.0277285)
    assert _sig3(fit.kappa) == _sig3(0.0001044)
    assert _sig3(fit.lambda_rps) == _sig3(89.9952330)
    assert _sig3(fit.peak_concurrency) == _sig3(96.51956)


def test_specsdm91_derived_numbers_match_r_usl(specsdm91):
    fit = fit_usl(specsdm91["load"], specsdm91["throughput"])
    assert fit.peak_throughput_rps == pytest.approx(1884, abs=1)
    assert fit.amdahl_ceiling_rps == pytest.approx(3245.589, rel=1e-3)
    assert fit.residual_std_error_rps == pytest.approx(82.85, abs=0.01)
    published_fitted = [90, 1078, 1541, 1850, 1879, 1822, 1646]
    np.testing.assert_allclose(fit.throughput_rps(specsdm91["load"]), published_fitted, atol=0.6)


def test_specsdm91_standard_errors_match_r_usl(specsdm91):
    fit = fit_usl(specsdm91["load"], specsdm91["throughput"])
    assert fit.sigma_se == pytest.approx(0.0091217, rel=1e-3)
    assert fit.kappa_se == pytest.approx(0.0000199, rel=1e-2)
    assert fit.lambda_se == pytest.approx(14.2134894, rel=1e-3)


def test_raytracer_first_six_rows_reproduce_r_usl_fit_and_intervals(raytracer):
    head = raytracer.iloc[:6]
    fit = UslModel(interval="r-usl").fit(head["processors"], head["throughput"]).fit_
    assert fit.sigma == pytest.approx(0.02444, abs=5e-6)
    assert fit.kappa == pytest.approx(0.00163, abs=5e-6)
    assert fit.lambda_rps == pytest.approx(20.85605, abs=5e-5)
    np.testing.assert_allclose(fit.sigma_ci, (0.00754, 0.04135), atol=5e-6)
    np.testing.assert_allclose(fit.kappa_ci, (0.00110, 0.00215), atol=5e-6)
    np.testing.assert_allclose(fit.lambda_ci, (19.26717, 22.44492), atol=5e-5)


def test_default_intervals_are_two_sided_t_on_n_minus_3_df_and_wider_than_r_usl(raytracer):
    head = raytracer.iloc[:6]
    ours = UslModel().fit(head["processors"], head["throughput"]).fit_
    r_usl = UslModel(interval="r-usl").fit(head["processors"], head["throughput"]).fit_
    # t(0.975, 3) = 3.182446 (statistical tables) times the same standard error
    assert ours.sigma_ci[1] - ours.sigma == pytest.approx(3.182446 * ours.sigma_se, rel=1e-5)
    assert ours.sigma_ci[1] - ours.sigma_ci[0] > r_usl.sigma_ci[1] - r_usl.sigma_ci[0]


def test_raytracer_all_rows_puts_kappa_at_its_zero_bound_not_negative(raytracer):
    fit = fit_usl(raytracer["processors"], raytracer["throughput"])
    assert fit.kappa == pytest.approx(0.0, abs=1e-9)
    assert fit.kappa >= 0
    assert fit.sigma == pytest.approx(0.0578, abs=5e-5)
    assert fit.lambda_rps == pytest.approx(21.8488, abs=5e-4)
    assert math.isinf(fit.peak_concurrency)


def test_fewer_than_six_levels_warns_like_r_usl(raytracer):
    head = raytracer.iloc[:5]
    fit = fit_usl(head["processors"], head["throughput"])
    assert any("might not be accurate" in w for w in fit.warnings)


def test_two_load_levels_is_an_input_error_naming_the_levels():
    with pytest.raises(InputDataError, match=r"needs >= 3 load levels, got 2 \(1, 8\)"):
        fit_usl([1, 8, 8], [10, 70, 71])


@pytest.mark.parametrize("x", [[0, 0, 0, 0], [-1, 10, 20, 30]])
def test_all_zero_or_negative_throughput_is_an_input_error(x):
    with pytest.raises(InputDataError):
        fit_usl([1, 2, 4, 8], x)


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        UslModel().predict([1, 2])


def test_fit_returns_the_estimator_with_learned_attributes(specsdm91):
    model = UslModel()
    assert model.fit(specsdm91["load"], specsdm91["throughput"]) is model
    assert isinstance(model.fit_, UslFit)
    assert model.sigma_ == model.fit_.sigma and model.kappa_ == model.fit_.kappa
    np.testing.assert_allclose(model.predict([1]), [model.lambda_])


def _curve(sigma: float, kappa: float, lam: float) -> UslFit:
    return UslFit(sigma, kappa, lam, 0, 0, 0, (0, 0), (0, 0), (0, 0), 10, 10, 0.0)


def test_response_time_inverse_keeps_kappa():
    curve = _curve(0.05, 0.001, 100.0)
    n = 20.0
    r = float(curve.response_time_s(n))
    assert curve.concurrency_for_response_time(r) == pytest.approx(n, rel=1e-10)
    x = float(curve.throughput_rps(n))
    assert curve.response_time_for_throughput_s(x) == pytest.approx(r, rel=1e-10)
    amdahl_only = _curve(0.05, 0.0, 100.0)
    assert amdahl_only.response_time_for_throughput_s(x) < r  # dropping κ underestimates R


def test_throughput_above_the_peak_has_no_rising_branch_solution():
    curve = _curve(0.05, 0.001, 100.0)
    assert math.isnan(curve.concurrency_for_throughput(curve.peak_throughput_rps * 1.01))
    assert curve.concurrency_for_throughput(curve.peak_throughput_rps) == pytest.approx(curve.peak_concurrency,
                                                                                         rel=1e-3)


@settings(max_examples=30, deadline=None)
@given(sigma=st.floats(0.001, 0.3), kappa=st.floats(1e-5, 0.01), lam=st.floats(1.0, 5000.0))
def test_fit_recovers_parameters_from_noiseless_synthetic_data(sigma, kappa, lam):
    truth = _curve(sigma, kappa, lam)
    n = np.unique(np.round(np.geomspace(1, 3 * truth.peak_concurrency, 12)))
    fit = fit_usl(n, truth.throughput_rps(n))
    assert fit.sigma == pytest.approx(sigma, rel=1e-4, abs=1e-7)
    assert fit.kappa == pytest.approx(kappa, rel=1e-4, abs=1e-9)
    assert fit.lambda_rps == pytest.approx(lam, rel=1e-6)


@settings(max_examples=30, deadline=None)
@given(sigma=st.floats(0.0, 0.5), kappa=st.floats(0.0, 0.01), lam=st.floats(1.0, 1000.0),
       n=st.floats(1.0, 500.0))
def test_response_time_and_concurrency_are_exact_inverses(sigma, kappa, lam, n):
    curve = _curve(sigma, kappa, lam)
    r = float(curve.response_time_s(n))
    back = curve.concurrency_for_response_time(r)
    if math.isfinite(back):  # compare in R: when R(N) is nearly flat, N(R) is ill-conditioned
        assert float(curve.response_time_s(back)) == pytest.approx(r, rel=1e-9)
