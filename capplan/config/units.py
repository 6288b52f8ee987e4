"""Strict parsing of the quantities written as strings in capplan.toml.

Durations (``"14d"``, ``"24mo"``, ``"300ms"``) and growth rates (``"15%/month"``,
``"10GB/day"``) carry their unit right after the number, with no space: ``"300 ms"`` is
rejected so that a typo never silently becomes a different quantity.

Calendar conventions (the cloud-billing ones, so plans and prices agree):
a month is 730 hours (365 days / 12 = 30.4167 days) and a year is 365 days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from capplan.models.billing import DAYS_PER_MONTH, DAYS_PER_YEAR, HOURS_PER_MONTH  # the one billing calendar

SECONDS_PER_DAY = 86_400.0
MAX_DURATION_S = 100 * 365.0 * SECONDS_PER_DAY
"""Longest duration any field takes (100 years): longer ones are typos, and overflow date arithmetic."""

_DURATION_UNITS_S = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3_600.0,
    "d": SECONDS_PER_DAY,
    "w": 7 * SECONDS_PER_DAY,
    "mo": DAYS_PER_MONTH * SECONDS_PER_DAY,
    "y": DAYS_PER_YEAR * SECONDS_PER_DAY,
}
_PERIOD_DAYS = {
    "day": 1.0, "d": 1.0,
    "week": 7.0, "w": 7.0,
    "month": DAYS_PER_MONTH, "mo": DAYS_PER_MONTH,
    "year": DAYS_PER_YEAR, "y": DAYS_PER_YEAR,
}
_BYTE_UNITS = {
    "B": 1.0, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
    "KiB": 2.0**10, "MiB": 2.0**20, "GiB": 2.0**30, "TiB": 2.0**40, "PiB": 2.0**50,
}
_QUANTITY_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)?)(?P<unit>[A-Za-z]+)$")
_DURATION_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)?)(?P<unit>ms|mo|s|m|h|d|w|y)$")
_GROWTH_RE = re.compile(r"^(?P<sign>[+-]?)(?P<num>\d+(?:\.\d+)?)(?P<unit>%|[A-Za-z]*)/(?P<per>[a-z]+)$")
_GROWTH_RANGE_RE = re.compile(r"^(?P<low>[+-]?\d+(?:\.\d+)?)%?(?:-|\.\.|–)(?P<high>[+-]?\d+(?:\.\d+)?)%/(?P<per>[a-z]+)$")


@dataclass(frozen=True)
class Duration:
    """A span of time read from text such as ``"14d"``; ``seconds`` is the value in seconds."""

    seconds: float
    text: str

    @property
    def days(self) -> float:
        """The duration in days (86,400 s)."""
        return self.seconds / SECONDS_PER_DAY

    @property
    def months(self) -> float:
        """The duration in 730-hour months."""
        return self.seconds / (HOURS_PER_MONTH * 3_600.0)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Growth:
    """A growth rate read from ``"15%/month"`` (relative) or ``"10GB/day"`` (absolute).

    ``amount`` is the number as written (15.0 for 15 %), ``unit`` is ``"%"`` or the
    quantity's unit (``"GB"``), ``period_days`` the length of the period in days.
    A relative range such as ``"12-18%/month"`` has ``amount`` 12.0 and ``amount_high`` 18.0.
    """

    amount: float
    unit: str
    period_days: float
    text: str
    amount_high: float | None = None

    @property
    def is_range(self) -> bool:
        """True for a range of percentages (``"12-18%/month"``): a what-if band, not one rate."""
        return self.amount_high is not None and self.amount_high != self.amount

    @property
    def is_relative(self) -> bool:
        """True for percentage growth (compounding), False for a fixed amount per period."""
        return self.unit == "%"

    @property
    def fraction_per_month(self) -> float:
        """Relative growth as a compounding fraction per 730-hour month (0.15 for 15 %/month);
        for a range, the middle of its band."""
        low, high = self.band_per_month
        return (low + high) / 2.0

    @property
    def band_per_month(self) -> tuple[float, float]:
        """(low, high) compounding fractions per 730-hour month; equal unless this is a range."""
        if not self.is_relative:
            raise ValueError(f"{self.text} is an absolute growth, not a percentage")
        high = self.amount if self.amount_high is None else self.amount_high
        return tuple((1.0 + a / 100.0) ** (DAYS_PER_MONTH / self.period_days) - 1.0 for a in (self.amount, high))

    @property
    def per_day(self) -> float:
        """Absolute growth in the quantity's unit per day (10.0 for ``"70GB/week"``)."""
        if self.is_relative:
            raise ValueError(f"{self.text} is a percentage growth, not an absolute one")
        return self.amount / self.period_days

    def __str__(self) -> str:
        return self.text


def parse_duration(text: object) -> Duration:
    """Parse ``"300ms"``, ``"30s"``, ``"5m"``, ``"6h"``, ``"14d"``, ``"2w"``, ``"24mo"``, ``"1y"``.

    ``m`` is minutes and ``mo`` months (730 h); raises ``ValueError`` with the fix.
    """
    if isinstance(text, Duration):
        return text
    if not isinstance(text, str):
        raise ValueError(f"must be a duration string with its unit, got {text!r}, write e.g. \"14d\" or \"30s\"")
    match = _DURATION_RE.match(text)
    if match is None:
        raise ValueError(
            f"must be a number followed directly by a unit (ms, s, m, h, d, w, mo, y), got {text!r}, "
            'write e.g. "14d", "24mo" or "300ms" with no space'
        )
    seconds = float(match["num"]) * _DURATION_UNITS_S[match["unit"]]
    if seconds > MAX_DURATION_S:  # dates beyond ~2260 overflow pandas' nanosecond timestamps
        raise ValueError(f"is longer than {MAX_DURATION_S / (DAYS_PER_YEAR * SECONDS_PER_DAY):.0f} years, got "
                         f"{text!r}, write a planning horizon such as \"24mo\" or \"5y\"")
    return Duration(seconds=seconds, text=text)


def parse_growth(text: object) -> Growth:
    """Parse ``"15%/month"``, ``"2%/week"``, ``"10GB/day"`` or a range ``"12-18%/month"``;
    periods: day, week, month, year."""
    if isinstance(text, Growth):
        return text
    if not isinstance(text, str):
        raise ValueError(f"must be a growth string, got {text!r}, write e.g. \"15%/month\" or \"10GB/day\"")
    band = _GROWTH_RANGE_RE.match(text)
    if band is not None:
        low, high = (parse_growth(f"{band[key]}%/{band['per']}") for key in ("low", "high"))
        if high.amount < low.amount:
            raise ValueError(f"must go from low to high, got {text!r}, "
                             f"write \"{band['high']}-{band['low']}%/{band['per']}\"")
        return Growth(amount=low.amount, unit="%", period_days=low.period_days, text=text, amount_high=high.amount)
    match = _GROWTH_RE.match(text)
    if match is None or match["per"] not in _PERIOD_DAYS:
        raise ValueError(
            f"must be an amount with its unit per period (day, week, month or year), got {text!r}, "
            'write e.g. "15%/month" or "10GB/day" with no spaces'
        )
    amount = float(match["num"]) * (-1.0 if match["sign"] == "-" else 1.0)
    if match["unit"] == "%" and amount <= -100.0:
        raise ValueError(f"must be above -100 % per period, got {text!r}, "
                         'write e.g. "-5%/month"')
    return Growth(amount=amount, unit=match["unit"], period_days=_PERIOD_DAYS[match["per"]], text=text)


def convert_amount(amount: float, unit: str, to_unit: str) -> float:
    """``amount`` in ``unit`` expressed in ``to_unit``: identical units, or two byte units (GB, TiB …)."""
    if unit == to_unit:
        return amount
    if unit in _BYTE_UNITS and to_unit in _BYTE_UNITS:
        return amount * _BYTE_UNITS[unit] / _BYTE_UNITS[to_unit]
    raise ValueError(f"cannot convert {unit!r} to {to_unit!r}, {amount:g}{unit}, write it in {to_unit}")


def parse_quantity(value: object, unit: str) -> float:
    """A number in ``unit``, or a string such as ``"2TB"`` converted to ``unit`` (no space allowed)."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number or a size like \"2000{unit}\", got {value!r}, write a number")
    if isinstance(value, int | float):
        return float(value)
    match = _QUANTITY_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"must be a number or a size with its unit right after it, got {value!r}, "
                         f"write e.g. 2000 or \"2000{unit}\" with no space")
    return convert_amount(float(match["num"]), match["unit"], unit)


def growth_in(growth: Growth, unit: str) -> Growth:
    """An absolute growth re-expressed in ``unit`` (``"10GB/day"`` → 0.01 TB/day); percentages unchanged."""
    if growth.is_relative or growth.unit == unit:
        return growth
    amount = convert_amount(growth.amount, growth.unit, unit)
    return Growth(amount=amount, unit=unit, period_days=growth.period_days, text=growth.text,
                  amount_high=growth.amount_high)
