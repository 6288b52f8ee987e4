"""Risk per month: how likely a planned fleet is to breach its SLO or cross its scaling trigger.

Inputs are uncertain twice over, and both are sampled (Monte Carlo, ``P`` paths):

* **Demand paths.** Each day's peak demand is a split normal fitted to the calibrated
  forecast: median ``P50_d``, upper scale ``σ⁺_d = (P90_d − P50_d) / z₀.₉`` and lower scale
  ``σ⁻_d = (P50_d − P10_d) / z₀.₉`` (``σ⁻ = σ⁺`` when no P10 is known), ``z₀.₉ = Φ⁻¹(0.9)``.
  Path ``p`` draws ``z_{p,d} = √ρ·Z_p + √(1−ρ)·ε_{p,d}`` (``Z``, ``ε`` standard normal), so its days
  share one quantile level when ``day_correlation`` ρ = 1 (a forecast is wrong by a level for
  months, not independently each day) and keep their calibrated marginal for any ρ;
  ``D_{p,d} = max(P50_d + z·σ^±_d, 0)``. Tails past P90 are the normal's: an assumption.
* **Per-instance capacity.** One value per path (the instance's capacity is one unknown
  number): a split normal through the estimate's interval ``[lo, hi]`` at its confidence
  level (95 %), ``C_p = max(C + Z'_p·σ^±_c, ε)``; an infinite upper end gives ``σ⁺_c = 0``.

A fleet of ``n`` instances (``usable(n)`` after the tolerated failure, capacity.py) breaches
the SLO on day ``d`` of path ``p`` when ``D_{p,d} > usable(n_d)·C_p`` (the runway's breach rule)
and crosses its trigger when ``D_{p,d} > usable(n_d)·C_p·f_safe·u_trigger``, ``f_safe`` = safe/max.
Per month, the probability is the share of paths with at least one such day; its Monte-Carlo
standard error is ``√(p(1−p)/P)``.

Planning to a risk target α: per month, the required usable count on path ``p`` is
``R_{p,m} = max_{d∈m} D_{p,d} / C_p``; the plan takes the smallest integer ``u`` exceeded by at
most ``⌊α·P⌋`` paths, then the redundancy (``total_for(u)``) and the fleet minimum.
Common random numbers (one seeded stream for demand, one for capacity) make plans with
different capacities, targets or instance types comparable path by path, and reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from capplan.errors import InputDataError, ModelError
from capplan.models.capacity import DemandSeries, Redundancy

Z90 = float(ndtri(0.9))
"""Standard-normal 90th percentile (1.2816): the P90 is this many upper scales above P50."""
MIN_CAPACITY_FRACTION = 1e-6
"""Sampled capacity never falls below this fraction of its point value (a positive floor)."""


@dataclass(frozen=True)
class RiskSettings:
    """Monte-Carlo settings: ``paths`` samples, ``seed``, ``day_correlation`` ρ in [0, 1]."""

    paths: int = 2000
    seed: int = 0
    day_correlation: float = 1.0

    def __post_init__(self) -> None:
        if self.paths < 10:
            raise ModelError(f"risk simulation needs at least 10 paths, got {self.paths}, set [risk] paths = 2000")
        if not 0.0 <= self.day_correlation <= 1.0:
            raise ModelError(f"day_correlation must be in [0, 1], got {self.day_correlation!r}, "
                             "set [risk] day_correlation = 1.0")


@dataclass(frozen=True)
class CapacityInterval:
    """Per-instance capacity: ``max_rps`` with its interval ``[lower_rps, upper_rps]`` at ``level``.

    ``safe_fraction`` = safe/max throughput (the planning margin, kept when capacity is
    sampled); a zero-width interval means the capacity is known exactly.
    """

    max_rps: float
    lower_rps: float
    upper_rps: float
    level: float = 0.95
    safe_fraction: float = 0.8

    def __post_init__(self) -> None:
        if not (self.max_rps > 0 and math.isfinite(self.max_rps)):
            raise ModelError(f"per-instance capacity must be a positive number, got {self.max_rps!r} req/s, "
                             "check [capacity] or the load-test runs")
        if not self.lower_rps <= self.max_rps <= self.upper_rps:
            raise ModelError(f"capacity interval must contain its estimate, got {self.lower_rps!r} ≤ "
                             f"{self.max_rps!r} ≤ {self.upper_rps!r} req/s, check the saturation estimate")

    @classmethod
    def exact(cls, max_rps: float, safe_fraction: float = 0.8) -> CapacityInterval:
        """A capacity known exactly (an explicit ``per_instance_rps``)."""
        return cls(max_rps, max_rps, max_rps, 0.95, safe_fraction)

    def scaled(self, factor: float) -> CapacityInterval:
        """The same interval times ``factor`` (another instance size, estimated by vCPUs)."""
        return CapacityInterval(self.max_rps * factor, self.lower_rps * factor, self.upper_rps * factor,
                                self.level, self.safe_fraction)


@dataclass(frozen=True, eq=False)
class DemandPaths:
    """Sampled daily peak demand ``rps`` (paths × days, req/s) on days ``ds``, grouped by month.

    ``months`` are the distinct ``YYYY-MM`` labels, ``month_starts`` the index of each
    month's first day (days are consecutive), ``capacity_z`` the per-path standard normal
    that capacity samples are built from (shared by every instance type).
    """

    ds: np.ndarray
    rps: np.ndarray
    months: tuple[str, ...]
    month_starts: np.ndarray
    capacity_z: np.ndarray
    peaks: np.ndarray | None = None

    @property
    def paths(self) -> int:
        """Number of sampled paths."""
        return int(self.rps.shape[0])

    def month_peaks(self) -> np.ndarray:
        """Each path's peak demand per month (paths × months, req/s; computed once when sampled)."""
        return self.peaks if self.peaks is not None else np.maximum.reduceat(self.rps, self.month_starts, axis=1)


@dataclass(frozen=True)
class MonthRisk:
    """One month's risk for a planned fleet: probabilities with their Monte-Carlo standard errors.

    ``fleet`` is the month's largest planned count. ``breach_probability`` counts the fleet
    after its tolerated failure (N+k spares down, or the largest zone lost — with zones this
    is the "losing one zone at the peak keeps the SLO" check); ``all_up_breach_probability``
    with every instance serving.
    """

    month: str
    fleet: int
    breach_probability: float
    breach_se: float
    trigger_probability: float
    trigger_se: float
    all_up_breach_probability: float


def _split_scales(center: np.ndarray, upper: np.ndarray, lower: np.ndarray | None, z_lower: float) -> tuple:
    up = np.maximum(np.asarray(upper, dtype=float) - center, 0.0) / Z90
    down = up if lower is None else np.maximum(center - np.asarray(lower, dtype=float), 0.0) / z_lower
    return up, down


def sample_demand_paths(demand: DemandSeries, settings: RiskSettings, p10_rps: np.ndarray | None = None,
                        lower_quantile: float = 0.1) -> DemandPaths:
    """Demand paths from the forecast's P50/P90 per day (see the module formulas).

    ``p10_rps`` is the lower bound of the forecast interval, the ``lower_quantile``
    quantile of demand (0.1 for an 80 % interval); without it the lower tail mirrors the upper.
    """
    if p10_rps is not None and len(p10_rps) != len(demand.ds):
        raise InputDataError(f"P10 demand needs one value per day, got {len(p10_rps)} for {len(demand.ds)} days, "
                             "pass the forecast's yhat_lower")
    if not 0.0 < lower_quantile < 0.5:
        raise ModelError(f"the lower bound's quantile must be in (0, 0.5), got {lower_quantile!r}, "
                         "pass (1 − interval) / 2")
    demand_rng, capacity_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(settings.seed).spawn(2))
    rho = settings.day_correlation
    z = math.sqrt(rho) * demand_rng.standard_normal((settings.paths, 1))
    if rho < 1.0:
        z = z + math.sqrt(1.0 - rho) * demand_rng.standard_normal((settings.paths, len(demand.ds)))
    center = np.asarray(demand.p50_rps, dtype=float)
    up, down = _split_scales(center, demand.p90_rps, p10_rps, -float(ndtri(lower_quantile)))
    rps = np.maximum(center + np.where(z > 0, z * up, z * down), 0.0)
    months, starts = np.unique(demand.ds.astype("datetime64[M]"), return_index=True)
    return DemandPaths(demand.ds, rps, tuple(str(m) for m in months), starts,
                       capacity_rng.standard_normal(settings.paths), np.maximum.reduceat(rps, starts, axis=1))


def sample_capacity(capacity: CapacityInterval, z: np.ndarray) -> np.ndarray:
    """Per-path maximum throughput of one instance (req/s) from standard normals ``z``."""
    z_level = float(ndtri(0.5 + capacity.level / 2.0))
    up = 0.0 if not math.isfinite(capacity.upper_rps) else (capacity.upper_rps - capacity.max_rps) / z_level
    down = 0.0 if not math.isfinite(capacity.lower_rps) else (capacity.max_rps - capacity.lower_rps) / z_level
    drawn = capacity.max_rps + np.where(z > 0, z * up, z * down)
    return np.maximum(drawn, MIN_CAPACITY_FRACTION * capacity.max_rps)


def _usable(fleet: np.ndarray, redundancy: Redundancy) -> np.ndarray:
    """Instances still serving after the tolerated failure, per entry of ``fleet``."""
    fleet = np.asarray(fleet, dtype=np.int64)
    if redundancy.zones is None:
        return np.maximum(fleet - redundancy.spares, 0)
    return fleet - -(-fleet // redundancy.zones)


def _worst_load(paths: DemandPaths, usable: np.ndarray) -> np.ndarray:
    """Each path's highest demand per usable instance in each month (paths × months, req/s).

    Infinite when a day with demand has no usable instance. A fleet constant within each
    month (the risk plan) needs only the stored month peaks, not every day.
    """
    first = usable[paths.month_starts]
    if np.array_equal(per_day(paths, first), usable):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(paths.month_peaks() > 0, paths.month_peaks() / first[None, :], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        load = np.where(paths.rps > 0, paths.rps / usable[None, :], 0.0)
    return np.maximum.reduceat(load, paths.month_starts, axis=1)


def breach_probability(paths: DemandPaths, capacity: CapacityInterval, fleet_per_day: np.ndarray,
                       redundancy: Redundancy) -> np.ndarray:
    """Per month, the share of paths on which the fleet (after its tolerated failure) breaches."""
    c = sample_capacity(capacity, paths.capacity_z)
    worst = _worst_load(paths, _usable(np.asarray(fleet_per_day, dtype=np.int64), redundancy))
    return (worst > c[:, None]).mean(axis=0)


def _standard_error(p: np.ndarray, n: int) -> np.ndarray:
    return np.sqrt(p * (1.0 - p) / n)


def fleet_risk(paths: DemandPaths, capacity: CapacityInterval, fleet_per_day: np.ndarray,
               redundancy: Redundancy, trigger_utilization: float) -> tuple[MonthRisk, ...]:
    """Per month, the probability that ``fleet_per_day`` breaches the SLO and crosses its trigger."""
    fleet = np.asarray(fleet_per_day, dtype=np.int64)
    if fleet.shape != (paths.rps.shape[1],):
        raise ModelError(f"planned fleet needs one count per day, got {fleet.shape} for {paths.rps.shape[1]} days, "
                         "pass the plan's daily fleet")
    c = sample_capacity(capacity, paths.capacity_z)[:, None]
    worst = _worst_load(paths, _usable(fleet, redundancy))
    breach = (worst > c).mean(axis=0)
    trigger = (worst > c * (capacity.safe_fraction * trigger_utilization)).mean(axis=0)
    all_up = (_worst_load(paths, fleet) > c).mean(axis=0)
    peaks = np.maximum.reduceat(fleet, paths.month_starts)
    n = paths.paths
    b_se, t_se = _standard_error(breach, n), _standard_error(trigger, n)
    return tuple(
        MonthRisk(paths.months[i], int(peaks[i]), float(breach[i]), float(b_se[i]), float(trigger[i]),
                  float(t_se[i]), float(all_up[i]))
        for i in range(len(paths.months))
    )


def required_usable(month_peaks: np.ndarray, capacity_rps: np.ndarray, max_breach_probability: float) -> np.ndarray:
    """Smallest usable count per month that at most ``⌊α·P⌋`` paths exceed (int64, months)."""
    if not 0.0 <= max_breach_probability < 1.0:
        raise ModelError(f"max_breach_probability must be in [0, 1), got {max_breach_probability!r}, "
                         "set [fleet] max_breach_probability = 0.01")
    n = month_peaks.shape[0]
    allowed = math.floor(max_breach_probability * n + 1e-9)
    ratio = month_peaks / capacity_rps[:, None]
    kth = np.partition(ratio, n - 1 - allowed, axis=0)[n - 1 - allowed]
    return np.ceil(kth - 1e-9).clip(min=0).astype(np.int64)


def plan_to_risk(paths: DemandPaths, capacity: CapacityInterval, redundancy: Redundancy, minimum: int,
                 max_breach_probability: float) -> np.ndarray:
    """Instances per month so that each month's breach probability is at most the target (int64)."""
    usable = required_usable(paths.month_peaks(), sample_capacity(capacity, paths.capacity_z),
                             max_breach_probability)
    return np.maximum(redundancy.total_for(usable), minimum).astype(np.int64)


def per_day(paths: DemandPaths, monthly: np.ndarray) -> np.ndarray:
    """A per-month array spread over the days of each month."""
    counts = np.diff(np.append(paths.month_starts, paths.rps.shape[1]))
    return np.repeat(np.asarray(monthly), counts)


def fleet_sizes(paths: DemandPaths, capacity: CapacityInterval, redundancy: Redundancy,
                minimum: int) -> np.ndarray:
    """Instances each path would run each day, sized at the safe rate (paths × days, int64).

    ``max(total_for(⌈D_{p,d} / (C_p·f_safe)⌉), minimum)``: the fleet that follows demand,
    the distribution reservations are bought against.
    """
    safe = sample_capacity(capacity, paths.capacity_z) * capacity.safe_fraction
    serving = np.ceil(paths.rps / safe[:, None] - 1e-9).clip(min=0).astype(np.int64)
    return np.maximum(redundancy.total_for(serving), minimum)


def fleet_quantiles(sizes: np.ndarray, quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)) -> np.ndarray:
    """Per-day quantiles of the fleet-size distribution (len(quantiles) × days): the fan chart."""
    return np.quantile(sizes, quantiles, axis=0, method="inverted_cdf")
