"""What-if growth with no history: compound growth from a known rate, with scenario multipliers.

y(d) = rate₀ · (1 + g)^(d / 30.4167) · Π factor_k for every multiplier date_k ≤ d, where d is
days after ``start`` and g the growth per month (a month is 730 h, the billing convention
used across capplan). A scenario has no uncertainty of its own: the interval columns equal
the point value and ``interval_method`` is ``"scenario"``. Given a range of rates (12–18 %/month),
the point follows the middle rate and the band runs from the lowest to the highest rate's path:
``interval_method`` is ``"growth range"`` and the forecast's ``reason`` says that the band is
only the spread of the range given, not a measured uncertainty.
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
    growth_per_month: float | tuple[float, float],
    horizon_days: int,
    start: date,
    multipliers: Sequence[tuple[date, float]] = (),
) -> Forecast:
    """Daily peak req/s for ``horizon_days`` from ``start`` (the first forecast day, rate ``from_rate``).

    ``growth_per_month`` is a fraction (0.15 for 15 %/month) or a (low, high) range of them;
    ``multipliers`` are ``(date, factor)`` pairs applied from that date on (×1.5 after a launch).
    """
    low, high = growth_per_month if isinstance(growth_per_month, tuple) else (growth_per_month,) * 2
    if high < low:
        raise ConfigError(f"--growth range must go from low to high, got {low:.0%}-{high:.0%}/month: "
                          f"write {high:.0%}-{low:.0%}/month")
    _check(from_rate, low, horizon_days, multipliers)
    ds = pd.date_range(pd.Timestamp(start), periods=horizon_days, freq="D")
    paths = [_path(from_rate, g, ds, multipliers) for g in (low, (low + high) / 2.0, high)]
    frame = pd.DataFrame({"ds": ds, "yhat": paths[1], "yhat_lower": paths[0], "yhat_upper": paths[2],
                          "yhat_p90": paths[2]})
    if low == high:
        return Forecast(frame, interval=0.0, model="what-if", unit="rps", peak_rps_per_unit=1.0,
                        history=pd.Series(dtype=float), name="what-if", interval_method="scenario")
    reason = (f"the band is only the spread of the growth range given ({low:.1%} to {high:.1%} a month; P50 at "
              f"{(low + high) / 2:.1%}), not a measured uncertainty")
    return Forecast(frame, interval=0.0, model="what-if", unit="rps", peak_rps_per_unit=1.0,
                    history=pd.Series(dtype=float), name="what-if", interval_method="growth range", reason=reason)


def _path(from_rate: float, growth: float, ds: pd.DatetimeIndex, multipliers: Sequence[tuple[date, float]]) -> np.ndarray:
    days = np.arange(len(ds), dtype=float)
    values = from_rate * (1.0 + growth) ** (days / DAYS_PER_MONTH)
    for when, factor in multipliers:
        values = np.where(ds >= pd.Timestamp(when), values * factor, values)
    return values


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
