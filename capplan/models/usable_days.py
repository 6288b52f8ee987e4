"""The days of a daily history a forecast should learn from, and what was set aside.

Capacity covers demand. Three kinds of recorded day are not demand to forecast:

* the days before the first day with any traffic, when they are a week or more: the service was
  not live yet (a launch). A fold trained on them alone forecasts zero, and the relative errors
  of a zero forecast would calibrate the band; a yearly naive would repeat them;
* a day with zero traffic amid traffic: an outage or a gap in the monitoring recorded as zero.
  While such days are rare (at most :data:`MAX_OUTAGE_SHARE` of the days), they are treated as
  missing; a series that is often at zero (a service closed on Sundays) keeps its zeros.

* a spike of at most :data:`SPIKE_MAX_DAYS` days amid traffic: each day above :data:`SPIKE_FACTOR`
  times the median of its weekday in the :data:`SPIKE_WEEKS` weeks either side, and far outside the
  series' own spread (:data:`SPIKE_SPREAD`): an incident, a bot, a data error. In a backtest's
  held-out days it swamps every candidate's error alike, so they all look equal; a model fitted
  on it repeats it (a yearly naive a year later, MSTL's yearly season every year), and plans a
  capacity for one day of the next year at many times the level. While such days are rare
  (:data:`MAX_SPIKE_SHARE`), they are treated as missing; never a configured event's days (the
  forecast learns those), nor the last :data:`SPIKE_WEEKS` weeks (a surge there may be a new level).

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
SPIKE_FACTOR = 10.0
"""A day above this multiple of its weekday's median in the weeks around it is a spike…"""
SPIKE_SPREAD = 6.0
"""…and more than this many robust standard deviations (Hampel's identifier: the median absolute
deviation × 1.4826) of the series' own day-to-weekday log ratios above their median: a series whose
days often jump tenfold (messages about a news topic) has spikes as its demand."""
MAD_TO_SD = 1.4826
"""The median absolute deviation of a normal sample times this is its standard deviation."""
SPIKE_WEEKS = 2
"""The spike's reference: its weekday in the two weeks before and the two weeks after it."""
SPIKE_MAX_DAYS = 3
"""A longer run of such days is an event, and kept."""
MAX_SPIKE_SHARE = 0.05
"""Spike days are set aside while they are at most this share of the days."""
DROP_SHARE = 0.1
"""The last days are a drop when each lies under this share of its weekday's median in the 4 weeks before."""
DROP_REFERENCE_DAYS = 28
"""The drop is judged against the 4 weeks before it."""
DROP_MAX_DAYS = 365
"""A drop longer than a year is the level, not a drop."""


def usable_days(daily: pd.Series, event_days: pd.DatetimeIndex | None = None) -> tuple[pd.Series, tuple[str, ...]]:
    """``daily`` from its first day with traffic to its last observed day, rare zero days and rare
    spikes (never on ``event_days``) as missing; and a warning for each kind of day set aside. A
    history without any traffic is kept whole."""
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
    spikes = _spikes(days)
    if event_days is not None:
        spikes &= ~days.index.isin(event_days)
    if spikes.any() and spikes.sum() <= MAX_SPIKE_SHARE * days.notna().sum():
        first = days.index[np.argmax(spikes.to_numpy())].date()
        days = days.mask(spikes)
        count = int(spikes.sum())
        warnings.append(f"{count} day{'s' if count > 1 else ''} above {SPIKE_FACTOR:g}x the median of the same "
                        f"weekday in the {SPIKE_WEEKS} weeks either side (first {first}) "
                        f"{'are' if count > 1 else 'is'} treated as missing: a one-off spike the forecast should "
                        "not repeat; plan headroom for such days separately")
    return days, (*warnings, *_drop_warning(days))


def _spikes(days: pd.Series) -> pd.Series:
    """Whether each day is part of a spike (see module docstring); the last :data:`SPIKE_WEEKS` weeks never are."""
    values = days.to_numpy(dtype=float)
    count = len(values)
    position = np.arange(count)
    around = np.full((2 * SPIKE_WEEKS, count), np.nan)
    for row, shift in enumerate(k * 7 for k in range(-SPIKE_WEEKS, SPIKE_WEEKS + 1) if k):
        inside = (position + shift >= 0) & (position + shift < count)
        around[row, inside] = values[position[inside] + shift]
    with np.errstate(all="ignore"):
        known = np.isfinite(around).any(axis=0)
        reference = np.full(count, np.nan)
        reference[known] = np.nanmedian(around[:, known], axis=0)
        ratio = np.log(values / reference)
        usual = ratio[np.isfinite(ratio)]
        if usual.size == 0:
            return pd.Series(False, index=days.index)
        centre = float(np.median(usual))
        spread = MAD_TO_SD * float(np.median(np.abs(usual - centre)))
        spike = (np.isfinite(ratio) & (values > SPIKE_FACTOR * reference)
                 & (ratio - centre > SPIKE_SPREAD * spread))
    spike[max(0, count - 7 * SPIKE_WEEKS):] = False
    return pd.Series(_short_runs(spike), index=days.index)


def _short_runs(flags: np.ndarray) -> np.ndarray:
    """``flags`` with every run of more than :data:`SPIKE_MAX_DAYS` consecutive days cleared."""
    kept = flags.copy()
    edges = np.flatnonzero(np.diff(np.r_[0, flags.astype(int), 0]))
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start > SPIKE_MAX_DAYS:
            kept[start:stop] = False
    return kept


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
