"""What-if growth with no history: compound growth from a known rate, with scenario multipliers.

y(d) = rate₀ · (1 + g)^(d / 30.4167) · Π factor_k for every multiplier date_k ≤ d, where d is
days after ``start`` and g the growth per month (a month is 730 h, the billing convention
used across capplan). A scenario has no uncertainty of its own: the interval columns equal
the point value and ``interval_method`` is ``"scenario"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from capplan.errors import ConfigError
from capplan.models.forecast import Forecast

from capplan.models.billing import DAYS_PER_MONTH


def what_if_forecast(
    from_rate: float,
    growth_per_month: float,
    horizon_days: int,
    start: date,
    multipliers: Sequence[tuple[date, float]] = (),
) -> Forecast:
    """Daily peak req/s for ``horizon_days`` from ``start`` (the first forecast day, rate ``from_rate``).

    ``growth_per_month`` is a fraction (0.15 for 15 %/month); ``multipliers`` are
    ``(date, factor)`` pairs applied from that date on (×1.5 after a launch).
    """
    _check(from_rate, growth_per_month, horizon_days, multipliers)
    ds = pd.date_range(pd.Timestamp(start), periods=horizon_days, freq="D")
    days = np.arange(horizon_days, dtype=float)
    yhat = from_rate * (1.0 + growth_per_month) ** (days / DAYS_PER_MONTH)
    for when, factor in multipliers:
        yhat = np.where(ds >= pd.Timestamp(when), yhat * factor, yhat)
    frame = pd.DataFrame({"ds": ds, "yhat": yhat, "yhat_lower": yhat, "yhat_upper": yhat, "yhat_p90": yhat})
    return Forecast(frame, interval=0.0, model="what-if", unit="rps", peak_rps_per_unit=1.0,
                    history=pd.Series(dtype=float), name="what-if", interval_method="scenario")


def _check(from_rate: float, growth: float, horizon_days: int, multipliers: Sequence[tuple[date, float]]) -> None:
    if not from_rate > 0:
        raise ConfigError(f"--from-rate must be a positive req/s, got {from_rate!r}: pass e.g. --from-rate 1200")
    if not growth > -1.0:
        raise ConfigError(f"--growth must be above -100%/month, got {growth:.0%}: pass e.g. --growth 15%/month")
    if horizon_days < 1:
        raise ConfigError(f"--horizon must be at least 1 day, got {horizon_days}: pass e.g. --horizon 6mo")
    for when, factor in multipliers:
        if not factor > 0:
            raise ConfigError(f"--multiplier factor must be positive, got {factor!r} from {when}: "
                              "write e.g. 1.5@2027-03-01")
