"""SLO expressions such as ``p95<300ms`` or ``error_rate<0.5%``: parse and evaluate.

Grammar (whitespace allowed around the operator, none inside a value)::

    slo      := metric op value
    metric   := "p" NUMBER | "max" | "mean" | "error_rate"
    op       := "<" | "<="
    value    := NUMBER ("ms" | "s" | "us")        for latency metrics
              | NUMBER "%" | NUMBER                for error_rate (a fraction <= 1)

Latency thresholds are normalised to milliseconds, error rates to fractions. A latency
threshold must be positive (``p95<0ms`` can never be met), a percentile have at most three
decimals (``p99.999``: a finer one needs more requests than any step measures).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from capplan.errors import ConfigError

_SLO_RE = re.compile(r"^\s*(?P<metric>p\d+(?:\.\d+)?|max|mean|error_rate)\s*(?P<op><=|<)\s*(?P<value>\S+)\s*$")
_LATENCY_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)?)(?P<unit>ms|s|us)$")
_SIGNED_RE = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:ms|s|us|%)?$")
_PERCENTILE_RE = re.compile(r"^p(?:0|[1-9]\d?)(?:\.\d{1,3})?$")
MAX_LATENCY_MS = 86_400_000.0
"""Largest latency threshold (one day, in ms); anything above is a typo."""
_RATE_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)?)(?P<pct>%?)$")
_UNIT_TO_MS = {"ms": 1.0, "s": 1000.0, "us": 0.001}
_EXAMPLES = 'write it like "p95<300ms", "p99.9<=1s" or "error_rate<0.5%"'


@dataclass(frozen=True)
class Slo:
    """One service-level objective: ``metric op threshold``.

    ``threshold`` is in milliseconds for latency metrics and a fraction (0..1) for
    ``error_rate``.
    """

    metric: str
    op: str
    threshold: float
    text: str

    @property
    def is_latency(self) -> bool:
        """True for percentile, max and mean latency objectives."""
        return self.metric != "error_rate"

    @property
    def percentile(self) -> float | None:
        """The percentile (e.g. 95.0 or 99.9) for ``pNN`` objectives, else None."""
        return float(self.metric[1:]) if self.metric.startswith("p") else None

    @property
    def threshold_ms(self) -> float:
        """The latency threshold in milliseconds (only for latency objectives)."""
        if not self.is_latency:
            raise ValueError(f"{self.text} is not a latency objective")
        return self.threshold

    def is_met_by(self, observed: float) -> bool:
        """Whether an observed value (ms or fraction) meets the objective; NaN never does."""
        if math.isnan(observed):
            return False
        return observed < self.threshold if self.op == "<" else observed <= self.threshold

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class SloResult:
    """An SLO checked against one observed value (ms or fraction)."""

    slo: Slo
    observed: float
    met: bool


def parse_slo(text: str) -> Slo:
    """Parse one SLO expression; raise :class:`ConfigError` with a fix on bad input."""
    match = _SLO_RE.match(text or "")
    if match is None:
        raise ConfigError(f"cannot read SLO expression, {text!r}, {_EXAMPLES}")
    metric, op, raw = match["metric"], match["op"], match["value"]
    if metric == "error_rate":
        threshold = _parse_rate(raw, text)
    else:
        threshold = _parse_latency(raw, text)
        if metric.startswith("p") and not 0 < float(metric[1:]) < 100:
            raise ConfigError(f"SLO percentile must be between 0 and 100, {text!r}, use e.g. p95 or p99.9")
        if metric.startswith("p") and not _PERCENTILE_RE.match(metric):
            raise ConfigError(f"SLO percentile has too many decimals, {text!r}, use at most three "
                              "(e.g. p99.999): finer tails need more requests than a step measures")
    return Slo(metric=metric, op=op, threshold=threshold, text=f"{metric}{op}{raw}")


def parse_slos(texts: Iterable[str]) -> tuple[Slo, ...]:
    """Parse several SLO expressions (flags or capplan.toml), keeping their order."""
    return tuple(parse_slo(t) for t in texts)


def evaluate_slos(slos: Iterable[Slo], observed: Mapping[str, float]) -> tuple[SloResult, ...]:
    """Check each SLO against ``observed`` (keys like ``p95``, ``max``, ``error_rate``).

    Latency values are in milliseconds, ``error_rate`` a fraction.
    """
    results = []
    for slo in slos:
        key = _observed_key(slo.metric, observed)
        if key is None:
            known = ", ".join(sorted(observed)) or "none"
            raise ConfigError(f"SLO {slo.text} cannot be checked, no {slo.metric} was measured (have: {known}), "
                              "use one of the measured metrics")
        value = float(observed[key])
        results.append(SloResult(slo=slo, observed=value, met=slo.is_met_by(value)))
    return tuple(results)


def _observed_key(metric: str, observed: Mapping[str, float]) -> str | None:
    if metric in observed:
        return metric
    if metric.startswith("p"):  # p99.90 and p99.9 name the same percentile
        wanted = float(metric[1:])
        for key in observed:
            if key.startswith("p") and _is_number(key[1:]) and float(key[1:]) == wanted:
                return key
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_latency(raw: str, text: str) -> float:
    match = _LATENCY_RE.match(raw)
    if match is None and _SIGNED_RE.match(raw) and raw[-1] in "su":
        raise ConfigError(f"SLO latency threshold must be a plain positive number, {text!r}, "
                          'write e.g. "p95<300ms"')
    if match is None:
        raise ConfigError(f"SLO latency needs a unit written right after the number (ms, s or us), {text!r}, "
                          'write e.g. "p95<300ms"')
    threshold = float(match["num"]) * _UNIT_TO_MS[match["unit"]]
    if not 0 < threshold <= MAX_LATENCY_MS:
        raise ConfigError(f"SLO latency threshold must be above 0 and at most one day, {text!r}, "
                          'write e.g. "p95<300ms"')
    return threshold


def _parse_rate(raw: str, text: str) -> float:
    match = _RATE_RE.match(raw)
    if match is None and _SIGNED_RE.match(raw):
        raise ConfigError(f"SLO error rate must be a plain number from 0 to 1 (or 0% to 100%), {text!r}, "
                          'write e.g. "error_rate<0.5%"')
    if match is None:
        raise ConfigError(f"SLO error rate must be a percentage or a fraction, {text!r}, "
                          'write e.g. "error_rate<0.5%" or "error_rate<0.005"')
    value = float(match["num"]) / (100.0 if match["pct"] else 1.0)
    if value > 1:
        raise ConfigError(f"SLO error rate must be at most 100%, {text!r}, write e.g. \"error_rate<0.5%\"")
    return value
