"""The default forecaster decides by evidence: published behaviour of the choice, not its numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pytest

from capplan.models.backtest import BacktestResult, FoldForecast, score_folds
from capplan.models.forecast import DemandForecaster, ForecastSettings
from capplan.models.growth import what_if_forecast
from capplan.models.selection import BAND, COMBINATION, select, selection_folds

YEARLY_AWARE = {"seasonal_naive_yearly", "yearly_scaled", "mstl", "prophet"}


@dataclass(frozen=True)
class _History:
    daily: pd.Series
    unit: str = "rps"
    peak_rps_per_unit: float = 1.0
    name: str = "synthetic"
    warnings: tuple[str, ...] = ()


def _history(values: np.ndarray) -> _History:
    return _History(pd.Series(values, index=pd.date_range("2024-01-01", periods=len(values), freq="D")))


@pytest.mark.slow
def test_a_pure_weekly_pattern_is_forecast_within_one_percent_by_the_default():
    week = np.array([100.0, 120.0, 130.0, 125.0, 118.0, 60.0, 40.0])
    history = _history(np.resize(week, 140))
    forecast = DemandForecaster(ForecastSettings(horizon_days=28)).fit(history).predict(28)
    expected = np.resize(week, 28)  # 140 days is 20 whole weeks: the future starts on the pattern's first day
    assert np.max(np.abs(forecast.frame["yhat"].to_numpy() / expected - 1.0)) < 0.01


def test_a_flat_series_gets_a_flat_forecast():
    forecast = DemandForecaster(ForecastSettings(horizon_days=30)).fit(_history(np.full(120, 250.0))).predict(60)
    assert forecast.frame["yhat"].to_numpy() == pytest.approx(np.full(60, 250.0), rel=1e-3)


@pytest.mark.slow
def test_a_yearly_pattern_with_two_years_of_history_gets_a_yearly_aware_model():
    days = np.arange(2 * 365 + 60)
    rng = np.random.default_rng(3)
    values = 1000 + 400 * np.sin(2 * np.pi * days / 365.25) + 50 * np.sin(2 * np.pi * days / 7) + rng.normal(0, 20,
                                                                                                             len(days))
    forecast = DemandForecaster(ForecastSettings(horizon_days=120)).fit(_history(values)).predict(120)
    members = {name for name, _ in forecast.weights}
    assert members & YEARLY_AWARE, (forecast.model, forecast.weights)
    assert forecast.model in YEARLY_AWARE or forecast.model == COMBINATION


@pytest.mark.slow
def test_a_yearly_pattern_with_eighteen_months_of_history_is_forecast_with_the_yearly_naive():
    """The judge's baseline holds the same weekday 364 days earlier from one year of history on;
    the default backtests it as soon as a calibration fold trains on a full year."""
    days = np.arange(548)
    values = (1000 + 400 * np.sin(2 * np.pi * days / 364) + 50 * np.sin(2 * np.pi * days / 7)
              + np.random.default_rng(0).normal(0, 20, len(days)))
    forecast = DemandForecaster(ForecastSettings(horizon_days=90)).fit(_history(values)).predict(90)
    assert {name for name, _ in forecast.weights} & {"seasonal_naive_yearly", "yearly_scaled"}, forecast.weights


def test_a_history_too_short_to_backtest_a_full_year_does_not_offer_the_yearly_naive():
    forecaster = DemandForecaster(ForecastSettings(horizon_days=90))
    assert not set(forecaster.candidates(364 + 89)) & {"seasonal_naive_yearly", "yearly_scaled"}
    assert {"seasonal_naive_yearly", "yearly_scaled"} <= set(forecaster.candidates(364 + 90))


@pytest.mark.slow
def test_the_output_says_what_was_chosen_from_which_candidates_and_why():
    rng = np.random.default_rng(1)
    history = _history(200 + 30 * np.sin(2 * np.pi * np.arange(120) / 7) + rng.normal(0, 5, 120))
    forecast = DemandForecaster(ForecastSettings(horizon_days=21)).fit(history).predict(21)
    chosen = forecast.to_dict()["chosen"]
    assert chosen["model"] == forecast.model and chosen["reason"]
    assert sum(chosen["weights"].values()) == pytest.approx(1.0)
    assert chosen["backtest_horizon_days"] == 21 and chosen["backtest_folds"] >= 2
    assert {"seasonal_naive", "ets", "theta", "mstl", "prophet"} <= {s.model for s in forecast.candidates}
    assert 0.8 <= chosen["calibrated_levels"][0] < 1.0


def test_forcing_a_model_uses_only_that_model():
    rng = np.random.default_rng(2)
    history = _history(300 + rng.normal(0, 10, 90))
    forecast = DemandForecaster(ForecastSettings(model="theta", horizon_days=14)).fit(history).predict(14)
    assert forecast.model == "theta" and [s.model for s in forecast.candidates] == ["theta"]
    assert forecast.weights == (("theta", 1.0),)


def test_a_growth_range_gives_a_band_from_the_low_to_the_high_rate_and_says_so():
    forecast = what_if_forecast(1000.0, (0.12, 0.18), 366, date(2027, 1, 1))
    last = forecast.frame.iloc[365]  # 12 months of 730 h later
    assert last["yhat_lower"] == pytest.approx(1000 * 1.12 ** 12, rel=1e-9)
    assert last["yhat_upper"] == pytest.approx(1000 * 1.18 ** 12, rel=1e-9)
    assert last["yhat"] == pytest.approx(1000 * 1.15 ** 12, rel=1e-9)
    assert forecast.interval_method == "growth range" and "only the spread" in forecast.reason


def _backtest(errors: dict[str, list[float]], first_train_days: int = 400) -> BacktestResult:
    """Candidates whose fold k, trained on ``first_train_days + 7k`` days, forecasts every one of 7
    days of 100 as 100 + errors[name][k]."""
    count = len(next(iter(errors.values())))
    origins = tuple(pd.Timestamp("2024-01-01") + pd.Timedelta(days=7 * k) for k in range(count))
    actual = np.full(7, 100.0)
    folds = {name: tuple(FoldForecast(origins[k], actual, actual + e, np.arange(1, 8), 1.0, 1.0,
                                      first_train_days + 7 * k)
                         for k, e in enumerate(values)) for name, values in errors.items()}
    scores = tuple(score_folds(name, items, 0.8) for name, items in folds.items())
    return BacktestResult(7, 0.8, origins, scores, folds)


def _mean_error(folds) -> float:
    return float(np.mean([np.mean(np.abs(f.predicted - f.actual)) for f in folds]))


def test_a_choice_every_fold_agrees_on_is_calibrated_on_its_own_errors():
    result = _backtest({"ets": [2.0, 2.0, 2.0, 2.0], "theta": [20.0, 20.0, 20.0, 20.0]})
    assert [f.predicted.tolist() for f in selection_folds(result)] == \
        [f.predicted.tolist() for f in result.folds["ets"]]


def test_a_choice_the_folds_cannot_agree_on_is_calibrated_on_the_larger_errors_of_the_procedure():
    # ets wins on all four folds, but only by its two lucky folds: without one of them theta wins.
    result = _backtest({"ets": [2.0, 20.0, 2.0, 20.0], "theta": [20.0, 5.0, 20.0, 5.0]})
    assert select(result).model == "ets"
    honest = selection_folds(result)
    assert _mean_error(honest) > _mean_error(result.folds["ets"])
    assert all(np.allclose(f.actual, g.actual) and f.origin == g.origin for f, g in zip(honest, result.folds["ets"]))


def test_a_candidate_clearly_ahead_of_every_other_is_chosen_alone():
    result = _backtest({"ets": [2.0] * 4, "theta": [2.0 * (1 + BAND) + 0.1] * 4, "prophet": [9.0] * 4})
    chosen = select(result)
    assert (chosen.model, chosen.weights) == ("ets", (("ets", 1.0),))


def test_candidates_the_backtest_cannot_separate_are_averaged_with_equal_weights():
    result = _backtest({"ets": [2.0] * 4, "theta": [2.1] * 4, "mstl": [2.0 * (1 + BAND) - 0.01] * 4,
                        "prophet": [9.0] * 4})
    chosen = select(result)
    assert chosen.model == COMBINATION
    assert dict(chosen.weights) == pytest.approx({"ets": 1 / 3, "theta": 1 / 3, "mstl": 1 / 3})
    assert COMBINATION in {s.model for s in chosen.scores} and "within 10%" in chosen.reason


def test_candidates_are_judged_on_the_folds_that_train_on_the_year_a_yearly_naive_needs():
    # Folds 0-2 train on less than a year, where a yearly naive is only a weekly naive: it misses by 30.
    errors = {"seasonal_naive_yearly": [30.0, 30.0, 30.0, 1.0, 1.0, 1.0], "ets": [5.0] * 6}
    short = _backtest(errors, first_train_days=364 - 3 * 7)
    assert select(short).model == "ets"
    judged = select(short, min_train_days=364)
    assert judged.model == "seasonal_naive_yearly" and "the 3 folds" in judged.reason and judged.folds == 3
    assert [s.points for s in judged.scores] == [3 * 7, 3 * 7]  # the scores shown are those of the three folds


def test_with_fewer_than_two_full_year_folds_every_fold_judges():
    errors = {"seasonal_naive_yearly": [30.0, 30.0, 30.0, 30.0, 30.0, 1.0], "ets": [5.0] * 6}
    assert select(_backtest(errors, first_train_days=364 - 5 * 7), min_train_days=364).model == "ets"


def test_the_interval_is_calibrated_on_every_fold_even_when_the_choice_is_judged_on_some():
    errors = {"seasonal_naive_yearly": [30.0, 30.0, 30.0, 1.0, 1.0, 1.0], "ets": [5.0] * 6}
    honest = selection_folds(_backtest(errors, first_train_days=364 - 3 * 7), min_train_days=364)
    assert len(honest) == 6
    assert [float(np.mean(f.predicted - f.actual)) for f in honest] == pytest.approx([30.0, 30.0, 30.0, 1.0, 1.0, 1.0])


@pytest.mark.slow
def test_a_one_day_spike_in_the_last_year_does_not_come_back_in_the_next_years_p90():
    days = np.arange(800)
    values = 1000 + 200 * np.sin(2 * np.pi * days / 7) + np.random.default_rng(1).normal(0, 30, len(days))
    usual_peak = values.max()
    values[550] = 50_000.0  # 250 days before the end: a yearly naive would repeat it 114 days ahead
    forecast = DemandForecaster(ForecastSettings(horizon_days=365)).fit(_history(values)).predict(365)
    assert forecast.frame["yhat_p90"].max() < 1.3 * usual_peak
    assert any("spike" in w for w in forecast.warnings)


def test_with_two_full_year_folds_each_is_forecast_by_the_choice_of_the_other_full_year_fold():
    # Folds 0-3 train on less than a year; on them ets is better, on the two full-year folds the yearly naive.
    errors = {"seasonal_naive_yearly": [30.0, 30.0, 30.0, 30.0, 1.0, 1.0], "ets": [5.0] * 6}
    honest = selection_folds(_backtest(errors, first_train_days=364 - 4 * 7), min_train_days=364)
    assert [float(np.mean(f.predicted - f.actual)) for f in honest][4:] == pytest.approx([1.0, 1.0])
