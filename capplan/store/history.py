"""Read a traffic history (CSV, Parquet or ``prometheus://``) into a daily planning series.

Capacity has to cover peaks, so sub-daily data is reduced to one value per day: the day's
maximum (or a chosen quantile, e.g. p99 of 5-minute rates). The intra-day shape is kept as
``peak_to_mean`` and ``peak_rps_per_unit`` so a planning value can be turned back into peak
requests per second:

* value is a rate (req/s): ``peak_rps_per_unit = 1``;
* value counts requests per sample interval of Δ seconds, sub-daily: the planning value is
  the busiest interval's count, so ``peak_rps_per_unit = 1 / Δ``;
* value counts requests per day: ``peak_rps_per_unit = peak_to_mean / 86,400`` (the peak
  hour's share of the day is ``peak_to_mean / 24``, divided by 3,600 s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from capplan.errors import ConfigError, InputDataError
from capplan.models.forecast import MIN_HISTORY_DAYS

TIME_COLUMNS = ("ds", "timestamp", "time", "date", "datetime", "ts")
VALUE_COLUMNS = ("y", "value", "requests", "count", "rps", "peak_rps", "qps", "rate", "hits")
_RATE_NAME = re.compile(r"(rps|qps|rate|per_s|per_second)$", re.IGNORECASE)
_COUNT_NAME = re.compile(r"(requests|count|hits|total)$", re.IGNORECASE)
_TZ_SUFFIX = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
DEFAULT_PEAK_TO_MEAN = 2.0
"""Assumed peak-hour / mean-hour ratio for daily totals with no intra-day data (a warning says so)."""
MIN_SAMPLE_SHARE = 0.5
"""Sub-daily days with fewer than this share of the expected samples are dropped as partial."""


@dataclass(frozen=True, eq=False)
class HistoryOptions:
    """How to read a history: column overrides, value unit and the daily peak statistic.

    ``unit`` is ``"auto"``, ``"rps"`` (a rate) or ``"count"`` (requests per sample interval);
    ``peak_quantile`` None keeps the daily maximum, 0.99 keeps the p99 of the day's samples.
    """

    time_col: str | None = None
    value_col: str | None = None
    unit: str = "auto"
    peak_quantile: float | None = None
    peak_to_mean: float | None = None


@dataclass(frozen=True, eq=False)
class History:
    """A traffic history and its daily planning series.

    ``raw`` holds the values as read (naive timestamps, sorted, unique); ``daily`` the
    planning series (one float per calendar day, NaN on days with no data);
    ``resolution_s`` the median sample spacing in seconds; ``unit`` ``"rps"`` or
    ``"count"``; ``peak_to_mean`` the mean ratio of a day's busiest sample to its mean
    (None when unknown); ``peak_rps_per_unit`` multiplies a planning value into peak req/s.
    """

    name: str
    raw: pd.Series
    daily: pd.Series
    resolution_s: float
    unit: str
    peak_statistic: str
    peak_to_mean: float | None
    peak_rps_per_unit: float
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def resolution(self) -> str:
        """The raw resolution as text: ``"daily"``, ``"hourly"`` or ``"300s"``."""
        return {86_400.0: "daily", 3_600.0: "hourly"}.get(self.resolution_s, f"{self.resolution_s:g}s")

    @property
    def span_days(self) -> int:
        """Days from the first to the last day of the planning series, inclusive."""
        return int((self.daily.index[-1] - self.daily.index[0]).days) + 1


def read_history(source: str | Path, options: HistoryOptions | None = None) -> History:
    """Read ``source`` (a CSV/Parquet path or a ``prometheus://`` URL) into a :class:`History`."""
    options = options or HistoryOptions()
    text = str(source)
    if text.startswith("prometheus://"):
        from capplan.store.prometheus import fetch_prometheus

        frame = fetch_prometheus(text)
        unit = "rps" if options.unit == "auto" else options.unit
        return history_from_series(frame["value"], name=_prom_name(text), unit=unit, options=options)
    frame = _read_table(Path(source))
    return history_from_frame(frame, name=Path(source).stem, options=options)


def history_from_frame(frame: pd.DataFrame, name: str, options: HistoryOptions | None = None) -> History:
    """Build a :class:`History` from a table with time and value columns (detected or named)."""
    options = options or HistoryOptions()
    if frame.empty:
        raise InputDataError(f"history {name} has no rows, got an empty table: "
                             f"export at least {MIN_HISTORY_DAYS} days of data")
    times, time_label = _time_column(frame, options.time_col)
    value_name = _value_column(frame, options.value_col, exclude=time_label)
    values = _numeric_values(frame[value_name], value_name)
    unit, warnings = _unit_of(value_name, options.unit)
    if time_label in frame.columns and _mixed_offsets(frame[time_label]):
        warnings.append(f"time column {time_label} mixes UTC offsets (e.g. summer time): converted to UTC")
    series = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(times), name=value_name)
    return history_from_series(series, name=name, unit=unit, options=options, warnings=warnings)


def history_from_series(
    series: pd.Series, name: str, unit: str, options: HistoryOptions | None = None, warnings: list[str] | None = None
) -> History:
    """Validate a value series indexed by time and reduce it to the daily planning series."""
    options = options or HistoryOptions()
    warnings = list(warnings or [])
    series = _clean(series.astype(float), warnings)
    resolution_s = _resolution_s(series)
    if resolution_s > 86_400.0 * 1.5:
        raise InputDataError(
            f"history {name} must be daily or finer, got samples every {resolution_s / 86_400:.1f} days: "
            "export daily or hourly data"
        )
    if resolution_s >= 86_400.0 * 0.9:
        resolution_s = 86_400.0
        daily, peak_to_mean, statistic = _daily_from_daily(series, warnings), None, "value"
    else:
        daily, peak_to_mean, statistic = _daily_peaks(series, resolution_s, options.peak_quantile, warnings)
    per_unit = _peak_rps_per_unit(unit, resolution_s, peak_to_mean, options.peak_to_mean, warnings)
    if unit == "count" and resolution_s == 86_400.0 and options.peak_to_mean is not None:
        peak_to_mean = options.peak_to_mean
    _warn_gaps(daily, warnings)
    return History(name, series, daily, resolution_s, unit, statistic, peak_to_mean, per_unit, tuple(warnings))


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputDataError(f"history file not found, {str(path)!r}: give a CSV or Parquet file path")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except pd.errors.EmptyDataError as exc:
        raise InputDataError(f"history file is empty, {str(path)!r}: "
                             f"export at least {MIN_HISTORY_DAYS} days of data") from exc
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputDataError(
            f"history file could not be read, {str(path)!r} ({exc}): give a CSV with a header row or a Parquet file"
        ) from exc


def _find(frame: pd.DataFrame, wanted: str) -> str | None:
    by_lower = {str(c).strip().lower(): c for c in frame.columns}
    return by_lower.get(wanted.lower())


def _time_column(frame: pd.DataFrame, override: str | None) -> tuple[pd.Series, str]:
    if override is not None:
        column = _find(frame, override)
        if column is None:
            raise ConfigError(
                f"--time-col names no column, {override!r} (columns: {list(map(str, frame.columns))}): "
                "pass one of the listed columns"
            )
        return _parse_times(frame[column], str(column)), str(column)
    for candidate in TIME_COLUMNS:
        column = _find(frame, candidate)
        if column is not None:
            return _parse_times(frame[column], str(column)), str(column)
    parts = {p: _find(frame, p) for p in ("year", "month", "day", "hour", "minute")}
    if all(parts[p] is not None for p in ("year", "month", "day")):
        return _times_from_parts(frame, parts), ",".join(str(c) for c in parts.values() if c is not None)
    raise InputDataError(
        f"no time column found, columns are {list(map(str, frame.columns))}: name one ds/timestamp/time/date, "
        "give year,month,day[,hour] columns, or pass --time-col"
    )


def _times_from_parts(frame: pd.DataFrame, parts: dict[str, str | None]) -> pd.Series:
    fields = {p: frame[c] for p, c in parts.items() if c is not None}
    for label, column in fields.items():
        if not pd.api.types.is_numeric_dtype(column) or column.isna().any():
            raise InputDataError(f"{label} column must hold whole numbers, got {column.iloc[0]!r}: fix the file")
    try:
        return pd.to_datetime(pd.DataFrame(fields))
    except (ValueError, OverflowError) as exc:
        raise InputDataError(f"year/month/day columns hold an impossible date ({exc}): fix the file") from exc


def _parse_times(column: pd.Series, label: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return _naive(column)
    if pd.api.types.is_numeric_dtype(column):
        if column.isna().any() or column.min() < 1e8:
            raise InputDataError(f"time column {label} is numeric but not Unix seconds, got {column.iloc[0]!r}: "
                                 "write ISO-8601 timestamps")
        return pd.to_datetime(column, unit="s")
    text = column.astype(str).str.strip()
    aware = text.str.extract(_TZ_SUFFIX)[0].notna()
    if aware.any() and not aware.all():
        bad = text[~aware].iloc[0] if aware.iloc[0] else text[aware].iloc[0]
        raise InputDataError(
            f"time column {label} mixes timestamps with and without a time zone, e.g. {bad!r}: "
            "write every timestamp with an offset, or none"
        )
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    if parsed.isna().any():
        parsed = pd.to_datetime(text, format="mixed", errors="coerce", utc=True)
    if parsed.isna().any():
        bad = text[parsed.isna()].iloc[0]
        raise InputDataError(f"time column {label} holds a value that is not a timestamp, {bad!r}: "
                             "write ISO-8601 timestamps such as 2025-01-31 or 2025-01-31T14:00:00Z")
    offsets = text.str.extract(_TZ_SUFFIX)[0].dropna().unique()
    if len(offsets) == 1 and offsets[0] not in ("Z", "+00:00", "+0000"):
        # One fixed offset: keep the local wall-clock time, so daily peaks follow the local day.
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None) + _offset(offsets[0])
        return parsed
    return parsed.dt.tz_localize(None)


def _mixed_offsets(column: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return False
    return column.astype(str).str.strip().str.extract(_TZ_SUFFIX)[0].dropna().nunique() > 1


def _offset(text: str) -> pd.Timedelta:
    sign = -1 if text.startswith("-") else 1
    digits = text[1:].replace(":", "")
    return sign * pd.Timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))


def _naive(column: pd.Series) -> pd.Series:
    """Drop a single time zone keeping wall-clock time (daily peaks follow the local day)."""
    return column.dt.tz_localize(None) if getattr(column.dt, "tz", None) is not None else column


def _value_column(frame: pd.DataFrame, override: str | None, exclude: str) -> str:
    names = [str(c) for c in frame.columns]
    if override is not None:
        column = _find(frame, override)
        if column is None:
            raise ConfigError(f"--value-col names no column, {override!r} (columns: {names}): "
                              "pass one of the listed columns")
        return column
    for candidate in VALUE_COLUMNS:
        column = _find(frame, candidate)
        if column is not None:
            return column
    for column in frame.columns:
        if str(column) not in exclude.split(",") and _RATE_NAME.search(str(column)):
            return column
    raise InputDataError(
        f"no value column found, columns are {names}: name it y/value/requests/count/rps or pass --value-col"
    )


def _numeric_values(column: pd.Series, label: str) -> pd.Series:
    values = pd.to_numeric(column, errors="coerce")
    bad = column[values.isna() & column.notna()]
    if not bad.empty:
        raise InputDataError(
            f"value column {label} holds a non-numeric value, {bad.iloc[0]!r} (row {bad.index[0] + 2}): "
            "fix or remove that row"
        )
    return values


def _unit_of(value_name: str, unit: str) -> tuple[str, list[str]]:
    if unit in ("rps", "count"):
        return unit, []
    if unit != "auto":
        raise ConfigError(f"--unit must be auto, rps or count, got {unit!r}: pass --unit rps or --unit count")
    if _RATE_NAME.search(value_name):
        return "rps", []
    if _COUNT_NAME.search(value_name):
        return "count", []
    warning = (f"unit of column {value_name!r} is unknown: treated as req/s; pass --unit count if it counts "
               "requests per sample interval")
    return "rps", [warning]


def _clean(series: pd.Series, warnings: list[str]) -> pd.Series:
    if series.index.has_duplicates:
        dup = series.index[series.index.duplicated()][0]
        same = series.groupby(level=0).nunique(dropna=False).max() <= 1
        if not same:
            raise InputDataError(f"history has two different values for one timestamp, {dup}: "
                                 "remove duplicate rows or aggregate them first")
        warnings.append(f"dropped {series.index.duplicated().sum()} exact duplicate rows (first at {dup})")
        series = series[~series.index.duplicated()]
    if not series.index.is_monotonic_increasing:
        warnings.append("timestamps were not in order: sorted them")
        series = series.sort_index()
    if series.isna().any():
        warnings.append(f"dropped {int(series.isna().sum())} rows with no value (NaN)")
        series = series.dropna()
    if not np.isfinite(series.to_numpy()).all():
        raise InputDataError("history holds an infinite value: fix or remove that row")
    if (series < 0).any():
        raise InputDataError(f"history holds a negative traffic value, {series[series < 0].iloc[0]:g} at "
                             f"{series[series < 0].index[0]}: traffic cannot be negative, fix that row")
    if len(series) < 2:
        raise InputDataError(f"history needs at least {MIN_HISTORY_DAYS} days of data, got {len(series)} row: "
                             "export a longer history")
    return series


def _resolution_s(series: pd.Series) -> float:
    steps = np.diff(series.index.asi8) / 1e9
    return float(np.median(steps))


def _daily_from_daily(series: pd.Series, warnings: list[str]) -> pd.Series:
    daily = series.groupby(series.index.normalize()).max()
    for position, label in ((0, "first"), (-1, "last")):
        neighbours = daily.iloc[1:8] if position == 0 else daily.iloc[-8:-1]
        if len(neighbours) >= 7 and daily.iloc[position] < 0.5 * float(neighbours.median()):
            warnings.append(f"dropped the {label} day {daily.index[position].date()} ({daily.iloc[position]:g}): "
                            "below half its neighbours, looks like a partial day")
            daily = daily.drop(daily.index[position])
    return daily.asfreq("D")


def _daily_peaks(
    series: pd.Series, resolution_s: float, quantile: float | None, warnings: list[str]
) -> tuple[pd.Series, float | None, str]:
    grouped = series.groupby(series.index.normalize())
    counts = grouped.size()
    expected = 86_400.0 / resolution_s
    partial = counts[counts < MIN_SAMPLE_SHARE * expected]
    if not partial.empty:
        warnings.append(f"dropped {len(partial)} partial days with under {MIN_SAMPLE_SHARE:.0%} of their samples "
                        f"(first {partial.index[0].date()})")
    if quantile is None:
        peaks, statistic = grouped.max(), "max"
    else:
        peaks, statistic = grouped.quantile(quantile), f"p{quantile * 100:g}"
    means = grouped.mean()
    keep = counts.index.difference(partial.index)
    ratio = (peaks[keep] / means[keep]).replace([np.inf, -np.inf], np.nan).dropna()
    peak_to_mean = float(ratio.mean()) if not ratio.empty else None
    return peaks[keep].asfreq("D"), peak_to_mean, statistic


def _peak_rps_per_unit(
    unit: str, resolution_s: float, measured: float | None, given: float | None, warnings: list[str]
) -> float:
    if unit == "rps":
        return 1.0
    if resolution_s < 86_400.0:
        return 1.0 / resolution_s
    if given is not None:
        if not given >= 1.0:
            raise ConfigError(f"--peak-to-mean must be >= 1, got {given!r}: pass e.g. --peak-to-mean 1.8")
        return given / 86_400.0
    warnings.append(f"daily totals carry no intra-day shape: peak req/s assumes a peak-to-mean ratio of "
                    f"{DEFAULT_PEAK_TO_MEAN:g}; give hourly data or pass --peak-to-mean")
    return DEFAULT_PEAK_TO_MEAN / 86_400.0


def _warn_gaps(daily: pd.Series, warnings: list[str]) -> None:
    missing = daily.isna()
    if missing.any():
        runs = missing.ne(missing.shift()).cumsum()[missing]
        longest = int(runs.value_counts().max())
        warnings.append(f"{int(missing.sum())} days have no data (longest gap {longest} days, first "
                        f"{daily.index[missing][0].date()}): the forecaster skips them")


def _prom_name(url: str) -> str:
    match = re.search(r"query=([^&]+)", url)
    return re.sub(r"[^A-Za-z0-9_]+", "_", match.group(1))[:40].strip("_") if match else "prometheus"
