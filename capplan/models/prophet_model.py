"""Prophet as a daily point forecaster: configuration chosen from the history, fitted quietly.

Prophet (Taylor & Letham 2018, "Forecasting at scale") is imported lazily because its import
costs about a second of CLI start-up. It is fitted by MAP with ``uncertainty_samples=0``:
deterministic, and intervals come from conformal calibration (capplan.models.conformal)
instead of Prophet's trend simulation, which under-covers at long horizons.

Traffic is modelled on a log scale, log(y + c) with c = 1 % of the mean level: seasonal
effects are multiplicative, and the back-transformed forecast can never be negative.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from capplan.errors import ConfigError, ModelError

MIN_WEEKLY_DAYS = 14
MIN_YEARLY_DAYS = 730
"""Yearly seasonality needs two full cycles to be told apart from trend (Prophet's own rule)."""


@dataclass(frozen=True)
class Event:
    """A custom event: its dates, a window around each date (days), an optional expected uplift.

    With ``uplift`` (e.g. 1.5 = +50 %) the forecast on the event's future days is multiplied by
    it (every day from the first date on when ``lasting``); without, Prophet learns the effect
    from the event's past occurrences in the history.
    """

    name: str
    dates: tuple[date, ...]
    uplift: float | None = None
    lower_window_days: int = 0
    upper_window_days: int = 0
    lasting: bool = False
    """True for a lasting step: the uplift applies from the first date on (a launch ×1.5)."""

    def days(self) -> pd.DatetimeIndex:
        """Every day the event covers, windows included (for a lasting step: its first day)."""
        spans = [pd.date_range(pd.Timestamp(d) - pd.Timedelta(days=self.lower_window_days),
                               pd.Timestamp(d) + pd.Timedelta(days=self.upper_window_days), freq="D")
                 for d in self.dates]
        return pd.DatetimeIndex(np.concatenate([s.to_numpy() for s in spans])) if spans else pd.DatetimeIndex([])


@dataclass(frozen=True)
class ProphetSettings:
    """Prophet hyper-parameters: growth ``linear``/``logistic`` (with ``cap`` in series units),
    ISO ``country`` for public holidays, learned ``events``, ``log_scale`` transform, ``seed``."""

    growth: str = "linear"
    cap: float | None = None
    country: str | None = None
    events: tuple[Event, ...] = ()
    log_scale: bool = True
    changepoint_prior_scale: float = 0.05
    seed: int = 0


def quiet_prophet_logs() -> None:
    """Silence cmdstanpy's per-fit chatter and Prophet's informational messages."""
    from cmdstanpy.utils import get_logger  # configures its logger on first call: level it after

    get_logger().setLevel(logging.ERROR)
    logging.getLogger("cmdstanpy").setLevel(logging.ERROR)
    logging.getLogger("prophet").setLevel(logging.WARNING)


def prophet_forecast(train: pd.Series, horizon_days: int, settings: ProphetSettings) -> np.ndarray:
    """Fit Prophet on a daily series (NaN days skipped) and return the next ``horizon_days`` means."""
    model, offset = fit_prophet(train, settings)
    future = pd.DataFrame({"ds": pd.date_range(train.index[-1] + pd.Timedelta(days=1), periods=horizon_days)})
    return predict_prophet(model, future, offset, settings)


def fit_prophet(train: pd.Series, settings: ProphetSettings) -> tuple[object, float]:
    """The fitted Prophet model and the log offset c (0 when not on a log scale)."""
    quiet_prophet_logs()
    from prophet import Prophet

    observed = train.dropna()
    span_days = int((observed.index[-1] - observed.index[0]).days) + 1
    offset = 0.01 * max(float(observed.mean()), 1e-9) if settings.log_scale else 0.0
    frame = pd.DataFrame({"ds": observed.index, "y": _forward(observed.to_numpy(), offset, settings)})
    if settings.growth == "logistic":
        frame["cap"] = _cap(observed, offset, settings)
    model = Prophet(
        growth=settings.growth,
        yearly_seasonality=span_days >= MIN_YEARLY_DAYS,
        weekly_seasonality=span_days >= MIN_WEEKLY_DAYS,
        daily_seasonality=False,
        holidays=_learned_events(settings.events),
        changepoint_prior_scale=settings.changepoint_prior_scale,
        uncertainty_samples=0,
    )
    if settings.country:
        model.add_country_holidays(country_name=settings.country)
    try:
        model.fit(frame, seed=settings.seed)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"Prophet could not fit the history ({exc}): check the data or try --model auto") from exc
    return model, offset


def predict_prophet(model: object, future: pd.DataFrame, offset: float, settings: ProphetSettings) -> np.ndarray:
    """Back-transformed, non-negative Prophet means for the days in ``future["ds"]``."""
    future = future.copy()
    if settings.growth == "logistic":
        future["cap"] = float(model.history["cap"].iloc[0])  # type: ignore[attr-defined]
    raw = model.predict(future)["yhat"].to_numpy()  # type: ignore[attr-defined]
    values = np.exp(raw) - offset if settings.log_scale else raw
    return np.maximum(values, 0.0)


def _forward(values: np.ndarray, offset: float, settings: ProphetSettings) -> np.ndarray:
    return np.log(values + offset) if settings.log_scale else values


def _cap(observed: pd.Series, offset: float, settings: ProphetSettings) -> float:
    if settings.cap is None or not settings.cap > float(observed.max()):
        raise ConfigError(
            f"logistic growth needs a cap above the history's peak {float(observed.max()):g}, got {settings.cap!r}: "
            "pass --cap with the saturation level of the traffic"
        )
    return float(_forward(np.array([settings.cap]), offset, settings)[0])


def _learned_events(events: tuple[Event, ...]) -> pd.DataFrame | None:
    rows = [
        {"holiday": e.name, "ds": pd.Timestamp(d), "lower_window": -e.lower_window_days,
         "upper_window": e.upper_window_days}
        for e in events if e.uplift is None for d in e.dates
    ]
    return pd.DataFrame(rows) if rows else None
