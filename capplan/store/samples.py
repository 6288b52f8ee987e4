"""Sample traffic histories the project generates itself (for the demo and the docs).

A seeded synthetic service: peak req/s growing geometrically, a weekly cycle (quiet
weekends), a yearly cycle (summer lull, December high), US public holidays as dips, a
Black-Friday / Cyber-Monday spike, and log-normal day-to-day noise:

    peak_rps(d) = base · (1+g)^(d/365) · (1 + w·weekly(d)) · (1 + a·cos(2π(doy−350)/365)) · event(d) · e^(ε), ε ~ N(0, σ²)

The hourly variant spreads each day over a diurnal curve whose busiest hour equals the day's
peak. Regenerate the committed file with ``make samples``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from capplan.store.atomic import write_text_atomic

SAMPLE_DAILY_PATH = Path("datasets/sample_traffic_daily.csv")
_WEEKLY = np.array([0.05, 0.08, 0.08, 0.06, 0.02, -0.22, -0.27])
"""Relative level Monday … Sunday (weekends quiet)."""


@dataclass(frozen=True)
class SampleSpec:
    """Parameters of a generated history: first day, length in days, peak req/s on day 0,
    yearly growth (0.4 = +40 %/year), noise σ of the log level, seed, holiday country."""

    start: date = date(2022, 11, 1)
    days: int = 4 * 365 + 1
    base_rps: float = 180.0
    growth_per_year: float = 0.4
    noise_sigma: float = 0.04
    seed: int = 7
    country: str = "US"
    yearly_amplitude: float = 0.12


def generate_sample_history(spec: SampleSpec | None = None) -> pd.DataFrame:
    """Daily history: columns ``ds`` (date) and ``peak_rps`` (the day's busiest-second rate, req/s)."""
    spec = spec or SampleSpec()
    rng = np.random.default_rng(spec.seed)
    ds = pd.date_range(pd.Timestamp(spec.start), periods=spec.days, freq="D")
    elapsed = np.arange(spec.days, dtype=float)
    trend = spec.base_rps * (1.0 + spec.growth_per_year) ** (elapsed / 365.0)
    weekly = 1.0 + _WEEKLY[ds.dayofweek]
    yearly = 1.0 + spec.yearly_amplitude * np.cos(2 * np.pi * (ds.dayofyear.to_numpy() - 350) / 365.25)
    noise = np.exp(rng.normal(0.0, spec.noise_sigma, spec.days))
    peak = trend * weekly * yearly * _event_factors(ds, spec.country) * noise
    return pd.DataFrame({"ds": ds.date, "peak_rps": np.round(peak, 2)})


def generate_hourly_history(spec: SampleSpec | None = None) -> pd.DataFrame:
    """Hourly history: ``ds`` (hour start) and ``rps`` (mean rate that hour); each day's max is its peak."""
    spec = spec or SampleSpec()
    daily = generate_sample_history(spec)
    hours = np.arange(24)
    shape = 0.55 + 0.45 * np.cos(2 * np.pi * (hours - 15) / 24)  # busiest at 15:00, quietest at 03:00
    shape = shape / shape.max()
    ds = pd.to_datetime(np.repeat(pd.to_datetime(daily["ds"]).to_numpy(), 24)) + pd.to_timedelta(
        np.tile(hours, len(daily)), unit="h")
    rps = np.repeat(daily["peak_rps"].to_numpy(), 24) * np.tile(shape, len(daily))
    return pd.DataFrame({"ds": ds, "rps": np.round(rps, 2)})


def _event_factors(ds: pd.DatetimeIndex, country: str) -> np.ndarray:
    import holidays

    calendar = holidays.country_holidays(country, years=sorted(set(ds.year)))
    factors = np.ones(len(ds))
    for i, day in enumerate(ds.date):
        name = calendar.get(day)
        if name is not None:
            factors[i] = 0.8
        if calendar.get(day - timedelta(days=1), "").startswith("Thanksgiving"):
            factors[i] = 1.9  # Black Friday
        if calendar.get(day - timedelta(days=4), "").startswith("Thanksgiving"):
            factors[i] = 1.6  # Cyber Monday
    return factors


def write_sample_history(path: Path = SAMPLE_DAILY_PATH, spec: SampleSpec | None = None) -> Path:
    """Write :func:`generate_sample_history` as CSV at ``path`` (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, generate_sample_history(spec).to_csv(index=False))
