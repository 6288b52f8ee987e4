"""The days of a daily history a forecast should learn from, and what was set aside.

Capacity covers demand. Two kinds of recorded day are not demand:

* the days before the first day with any traffic: the service was not live yet (a launch).
  A fold trained on them alone forecasts zero, and the relative errors of a zero forecast
  would calibrate the band; a yearly naive would repeat them;
* a day with zero traffic amid traffic: an outage or a gap in the monitoring recorded as zero.
  While such days are rare (at most :data:`MAX_OUTAGE_SHARE` of the days), they are treated as
  missing; a series that is often at zero (a service closed on Sundays) keeps its zeros.

Missing days stay missing: Prophet skips them and the other candidates interpolate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_OUTAGE_SHARE = 0.05
"""Zero days are outages while they are at most this share of the days after a launch."""


def usable_days(daily: pd.Series) -> tuple[pd.Series, tuple[str, ...]]:
    """``daily`` from its first day with traffic to its last observed day, rare zero days as missing;
    and a warning for each kind of day set aside. A history without any traffic is kept whole."""
    observed = daily.dropna()
    if observed.empty:
        return observed.astype(float), ()
    live = observed[observed > 0]
    if live.empty:
        return daily.loc[observed.index[0]:observed.index[-1]].astype(float), ()
    days = daily.loc[live.index[0]:observed.index[-1]].astype(float)
    warnings = []
    before = int((observed.index < live.index[0]).sum())
    if before:
        warnings.append(f"the {before} days before {live.index[0].date()} have no traffic (before a launch): "
                        "the forecast learns from that day on")
    zero = days == 0.0
    if zero.any() and zero.sum() <= MAX_OUTAGE_SHARE * days.notna().sum():
        first = days.index[np.argmax(zero.to_numpy())].date()
        days = days.mask(zero)
        warnings.append(f"{int(zero.sum())} days with zero traffic amid traffic (first {first}) are treated as "
                        "missing: outages or monitoring gaps, not demand")
    return days, tuple(warnings)
