"""The days of a daily history a forecast should learn from, and what was set aside.

Capacity covers demand. Two kinds of recorded day are not demand:

* the days before the first day with any traffic, when they are a week or more: the service was
  not live yet (a launch). A fold trained on them alone forecasts zero, and the relative errors
  of a zero forecast would calibrate the band; a yearly naive would repeat them;
* a day with zero traffic amid traffic: an outage or a gap in the monitoring recorded as zero.
  While such days are rare (at most :data:`MAX_OUTAGE_SHARE` of the days), they are treated as
  missing; a series that is often at zero (a service closed on Sundays) keeps its zeros.

Missing days stay missing: Prophet skips them and the other candidates interpolate.

A drop at the very end (each of the last days under :data:`DROP_SHARE` of the same weekday's median
over the four weeks before the drop) is kept, since traffic can move away, but warned about: if it was an
outage, the forecast follows it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_OUTAGE_SHARE = 0.05
"""Zero days are outages while they are at most this share of the days after a launch."""
PRE_LAUNCH_MIN_DAYS = 7
"""A launch is a week or more without traffic at the start; a shorter zero run is a zero day like any other."""
DROP_SHARE = 0.1
"""The last days are a drop when each lies under this share of its weekday's median in the 4 weeks before."""
DROP_REFERENCE_DAYS = 28
"""The drop is judged against the 4 weeks before it."""
DROP_MAX_DAYS = 365
"""A drop longer than a year is the level, not a drop."""


def usable_days(daily: pd.Series) -> tuple[pd.Series, tuple[str, ...]]:
    """``daily`` from its first day with traffic to its last observed day, rare zero days as missing;
    and a warning for each kind of day set aside. A history without any traffic is kept whole."""
    observed = daily.dropna()
    if observed.empty:
        return observed.astype(float), ()
    live = observed[observed > 0]
    if live.empty:
        return daily.loc[observed.index[0]:observed.index[-1]].astype(float), ()
    before = int((observed.index < live.index[0]).sum())
    start = live.index[0] if before >= PRE_LAUNCH_MIN_DAYS else observed.index[0]
    days = daily.loc[start:observed.index[-1]].astype(float)
    warnings = []
    if before >= PRE_LAUNCH_MIN_DAYS:
        warnings.append(f"the {before} days before {live.index[0].date()} have no traffic (before a launch): "
                        "the forecast learns from that day on")
    zero = days == 0.0
    if zero.any() and zero.sum() <= MAX_OUTAGE_SHARE * days.notna().sum():
        first = days.index[np.argmax(zero.to_numpy())].date()
        days = days.mask(zero)
        warnings.append(f"{int(zero.sum())} days with zero traffic amid traffic (first {first}) are treated as "
                        "missing: outages or monitoring gaps, not demand")
    return days, (*warnings, *_drop_warning(days))


def _drop_warning(days: pd.Series) -> tuple[str, ...]:
    values = days.to_numpy()
    last = 0  # the longest run of last days each under the share of its weekday in the 4 weeks before the run
    for run in range(1, min(len(values) - DROP_REFERENCE_DAYS, DROP_MAX_DAYS) + 1):
        start = len(values) - run
        reference = values[start - DROP_REFERENCE_DAYS:start]
        weekday = np.array([np.nanmedian(reference[d::7]) if np.isfinite(reference[d::7]).any() else np.nan
                            for d in range(7)])
        if not np.isfinite(values[start]):
            continue  # a missing day neither starts nor ends a drop
        tail = values[start:]
        expected = weekday[np.arange(run) % 7]
        seen = np.isfinite(tail)
        if np.all(expected[seen] > 0) and np.all(tail[seen] < DROP_SHARE * expected[seen]):
            last = run  # shorter runs may fail (their 4 weeks before hold part of the drop): keep looking
    if not last:
        return ()
    return (f"the last {last} days (from {days.index[-last].date()}) lie under {DROP_SHARE:.0%} of the same weekdays "
            "in the 4 weeks before: the forecast follows them; if that was an outage, leave those days empty in "
            "the history",)
