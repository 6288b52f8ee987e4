"""DemandForecaster: contract of fit/predict, never negative, events, growth, reproducibility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pytest

from capplan.errors import ConfigError, InputDataError, NotFittedError
from capplan.models.forecast import DemandForecaster, ForecastSettings
from capplan.models.prophet_model import Event, ProphetSettings
from capplan.models.selection import BAND, COMBINATION


@dataclass(frozen=True)
class _History:
    daily: pd.Series
    unit: str = "rps"
    peak_rps_per_unit: float = 1.0
    name: str = "synthetic"
    warnings: tuple[str, ...] = ()


def _series(days=150, slope=0.5, level=200.0, seed=0, start="2025-01-01"):
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    values = np.maximum(level + slope * t + 30 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 4, days), 1.0)
    return _History(pd.Series(values, index=pd.date_range(start, periods=days, freq="D")))


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError, match="call fit"):
        DemandForecaster().predict(30)


def test_too_short_history_says_how_much_is_needed():
    with pytest.raises(InputDataError, match="at least 28 days of history, got 20"):
        DemandForecaster().fit(_series(days=20))


def test_unknown_model_is_a_usage_error():
    with pytest.raises(ConfigError, match="--model must be one of"):
        DemandForecaster(ForecastSettings(model="arima"))


def test_forecast_has_one_ordered_row_per_future_day_and_is_reproducible():
    settings = ForecastSettings(model="prophet", horizon_days=30)
    first = DemandForecaster(settings).fit(_series()).predict(45)
    second = DemandForecaster(settings).fit(_series()).predict(45)
    frame = first.frame
    assert frame["ds"].tolist() == list(pd.date_range("2025-05-31", periods=45, freq="D"))
    assert (frame["yhat_lower"] <= frame["yhat"]).all() and (frame["yhat"] <= frame["yhat_upper"]).all()
    pd.testing.assert_frame_equal(frame, second.frame)
    assert first.model == "prophet" and first.interval_method == "conformal"


def test_forecast_follows_a_rising_trend():
    forecast = DemandForecaster(ForecastSettings(horizon_days=30)).fit(_series()).predict(60)
    weekly_means = forecast.frame["yhat"].rolling(7).mean().dropna()
    assert weekly_means.iloc[-1] > weekly_means.iloc[0]
    assert weekly_means.iloc[-1] == pytest.approx(200 + 0.5 * (150 + 56), rel=0.1)


def test_forecast_is_never_negative_for_a_collapsing_series():
    history = _series(days=120, slope=-1.6, level=200.0)
    forecast = DemandForecaster(ForecastSettings(horizon_days=60)).fit(history).predict(365)
    assert (forecast.frame[["yhat", "yhat_lower", "yhat_upper"]] >= 0).all().all()


def test_an_event_with_an_expected_uplift_multiplies_its_days():
    launch = Event("launch", (date(2025, 6, 10),), uplift=1.5, upper_window_days=2)
    plain = ForecastSettings(model="seasonal_naive", horizon_days=30)
    with_event = ForecastSettings(model="seasonal_naive", horizon_days=30,
                                  prophet=ProphetSettings(events=(launch,)))
    base = DemandForecaster(plain).fit(_series()).predict(30).frame.set_index("ds")
    lifted = DemandForecaster(with_event).fit(_series()).predict(30).frame.set_index("ds")
    ratio = lifted["yhat"] / base["yhat"]
    assert ratio.loc["2025-06-10":"2025-06-12"].tolist() == pytest.approx([1.5, 1.5, 1.5])
    assert ratio.drop(pd.date_range("2025-06-10", "2025-06-12")).tolist() == pytest.approx([1.0] * 27)


def test_auto_takes_the_lowest_mase_candidate_or_the_mean_of_all_within_the_band_and_reports_all():
    forecast = DemandForecaster(ForecastSettings(model="auto", horizon_days=30)).fit(_series()).predict(30)
    singles = {s.model: s.mase for s in forecast.candidates if s.model != COMBINATION}
    assert set(singles) == {"prophet", "seasonal_naive", "seasonal_median", "ets", "theta", "mstl"}
    lowest = min(singles.values())
    close = {m for m, mase in singles.items() if mase <= lowest * (1 + BAND) + 1e-12}
    if forecast.model == COMBINATION:
        assert dict(forecast.weights) == pytest.approx({m: 1 / len(close) for m in close})
    else:
        assert close == {forecast.model} and forecast.weights == ((forecast.model, 1.0),)
    assert forecast.reason


def test_logistic_growth_saturates_at_its_cap_where_linear_keeps_rising():
    history = _series(days=200, slope=2.0, level=100.0)
    cap = float(history.daily.max()) * 1.1
    logistic = ForecastSettings(horizon_days=30, prophet=ProphetSettings(growth="logistic", cap=cap))
    capped = DemandForecaster(logistic).fit(history).predict(365).frame["yhat"].rolling(7).mean().dropna()
    linear = DemandForecaster(ForecastSettings(horizon_days=30)).fit(history).predict(365)
    # The cap bounds the trend (Prophet's logistic growth); the weekly cycle rides on top of it.
    assert capped.max() <= cap * 1.02
    assert linear.frame["yhat"].rolling(7).mean().max() > cap * 1.5


def test_negative_history_is_refused():
    history = _History(pd.Series([5.0] * 40 + [-1.0], index=pd.date_range("2025-01-01", periods=41)))
    with pytest.raises(InputDataError, match="negative"):
        DemandForecaster().fit(history)


def test_logistic_growth_without_a_cap_above_the_history_is_refused():
    settings = ForecastSettings(horizon_days=30, prophet=ProphetSettings(growth="logistic", cap=10.0))
    with pytest.raises(ConfigError, match="cap above the history's peak"):
        DemandForecaster(settings).fit(_series())


def test_json_payload_follows_the_product_contract():
    forecast = DemandForecaster(ForecastSettings(model="seasonal_naive", horizon_days=14)).fit(_series()).predict(10)
    payload = forecast.to_dict()
    assert payload["interval"] == 0.8 and payload["resolution"] == "daily"
    assert len(payload["forecast"]) == 10
    assert set(payload["forecast"][0]) == {"ds", "yhat", "yhat_lower", "yhat_upper"}
    assert payload["forecast"][0]["ds"] == "2025-05-31"


def test_monthly_p90_peak_is_never_below_the_p50_peak():
    forecast = DemandForecaster(ForecastSettings(model="holt_winters", horizon_days=30)).fit(_series()).predict(90)
    table = forecast.monthly_peaks()
    assert table["month"].tolist() == ["2025-05", "2025-06", "2025-07", "2025-08"]
    assert table["days"].tolist() == [1, 30, 31, 28]  # 90 days from 2025-05-31
    assert (table["p90_peak"] >= table["p50_peak"]).all()


def test_a_lasting_event_multiplies_every_day_from_its_date_on():
    launch = Event("launch", (date(2025, 6, 10),), uplift=1.5, lasting=True)
    settings = ForecastSettings(model="seasonal_naive", horizon_days=30, prophet=ProphetSettings(events=(launch,)))
    plain = DemandForecaster(ForecastSettings(model="seasonal_naive", horizon_days=30)).fit(_series()).predict(30)
    lifted = DemandForecaster(settings).fit(_series()).predict(30)
    ratio = (lifted.frame.set_index("ds")["yhat"] / plain.frame.set_index("ds")["yhat"])
    assert ratio.loc[:"2025-06-09"].tolist() == pytest.approx([1.0] * 10)
    assert ratio.loc["2025-06-10":].tolist() == pytest.approx([1.5] * 20)


def test_days_without_traffic_before_a_launch_are_dropped_with_a_warning():
    launched = _series(days=120, slope=0.0).daily
    zeros = pd.Series(0.0, index=pd.date_range(end=launched.index[0] - pd.Timedelta(days=1), periods=300))
    history = _History(pd.concat([zeros, launched]))
    forecast = DemandForecaster(ForecastSettings(model="seasonal_median", horizon_days=30)).fit(history).predict(30)
    # Folds that train on zeros alone would calibrate the band on relative errors of a zero forecast.
    assert forecast.frame["yhat_p90"].max() < 2 * launched.max()
    assert forecast.history.index[0] == launched.index[0]
    assert any("300 days before" in w and "no traffic" in w for w in forecast.warnings)


def test_a_history_without_any_traffic_is_forecast_as_zero():
    history = _History(pd.Series(0.0, index=pd.date_range("2025-01-01", periods=60)))
    forecast = DemandForecaster(ForecastSettings(model="seasonal_naive", horizon_days=14)).fit(history).predict(14)
    assert (forecast.frame[["yhat", "yhat_upper", "yhat_p90"]] == 0.0).all().all()
    assert forecast.warnings == ()
