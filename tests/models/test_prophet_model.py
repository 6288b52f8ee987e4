"""Prophet configuration: seasonalities chosen from the span, holidays, learned events, quiet fits."""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pandas as pd
import pytest

from capplan.models.prophet_model import (
    MIN_YEARLY_DAYS,
    Event,
    ProphetSettings,
    fit_prophet,
    prophet_forecast,
)


def _daily(days: int, start: str = "2023-01-01", seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    values = 500 + 40 * np.sin(2 * np.pi * t / 7) + 60 * np.sin(2 * np.pi * t / 365.25) + rng.normal(0, 5, days)
    return pd.Series(values, index=pd.date_range(start, periods=days, freq="D"))


@pytest.mark.parametrize("days, expected", [
    (10, set()),
    (60, {"weekly"}),
    (MIN_YEARLY_DAYS - 1, {"weekly"}),
    (MIN_YEARLY_DAYS, {"weekly", "yearly"}),
])
def test_seasonalities_follow_the_span_of_history(days, expected):
    model, _ = fit_prophet(_daily(days), ProphetSettings())
    assert set(model.seasonalities) == expected


def test_country_holidays_are_part_of_the_fit():
    model, _ = fit_prophet(_daily(400), ProphetSettings(country="US"))
    assert "Christmas Day" in set(model.train_holiday_names)


def test_an_event_without_uplift_is_learned_from_its_past_occurrences():
    history = _daily(200)
    promo_days = [date(2023, 2, 1), date(2023, 3, 15), date(2023, 5, 1), date(2023, 6, 10)]
    for day in promo_days:
        history[pd.Timestamp(day)] *= 2.0
    future = date(2023, 7, 30)  # 11 days after the last day of history
    settings = ProphetSettings(events=(Event("promo", (*promo_days, future)),))
    with_event = pd.Series(prophet_forecast(history, 20, settings),
                           index=pd.date_range("2023-07-20", periods=20))
    plain = pd.Series(prophet_forecast(history, 20, ProphetSettings()), index=with_event.index)
    ratio = with_event / plain
    assert ratio[pd.Timestamp(future)] == pytest.approx(2.0, rel=0.15)
    assert ratio.drop(pd.Timestamp(future)).between(0.95, 1.05).all()


def test_fits_are_silent_on_the_console(capfd, caplog):
    with caplog.at_level(logging.INFO):
        fit_prophet(_daily(60), ProphetSettings())
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
    assert not [r for r in caplog.records if r.name.startswith(("cmdstanpy", "prophet")) and r.levelno < logging.WARNING]
