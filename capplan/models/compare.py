"""Did a release regress? Two runs of one scenario, metric by metric, beyond noise.

For every load level both runs measured (its steady seconds), and for a stress run's
capacity, each metric gets an effect, a 95 % interval, a p-value and a verdict:

- **Latency** p50, p90, p95, p99, p99.9 (from the per-second sketches, merged) and the
  mean: relative change ``new / base - 1``. Its sampling noise comes from a moving-block
  bootstrap of each run's *seconds* (:mod:`capplan.models.bootstrap`): resamples of base
  and new are independent, and each run's variance of the log statistic over its resamples
  is scaled by k/(k − 1) for its k blocks (the plug-in bootstrap's small-sample bias). The
  interval is ``exp(log(new / base) ± t se) - 1`` and the test a t test of
  ``log(new / base) = 0``, with Welch–Satterthwaite degrees of freedom from each run's
  k − 1: a window of k blocks holds about k independent pieces, as in the method of batch
  means (Law, *Simulation Modeling and Analysis*, 5th ed. 2015, §9.5.3). A 4-second level is
  2 blocks, one degree of freedom: it cannot call a small change significant, which the
  normal approximation did about one identical pair in two. A percentile needs ``10 / (1 - q)``
  requests in both runs (10 beyond it), else it is not compared.
- **Throughput** at the matched offered load (closed model: users; open: arrival rate),
  the same way; lower is worse.
- **Block length**: ``ceil(K^(1/3))`` seconds, longer where a window of 50 s or more is
  dependent over longer spans (Politis–White's estimate on its per-second throughput and mean
  latency, :func:`~capplan.models.bootstrap.block_length`): fewer, longer blocks, so fewer
  degrees of freedom.
- **A step that ran slow as a whole** (a busier minute on the machine, a load-generator
  stall) is noise the seconds inside it cannot show. The levels of a stress run are points of
  one curve, so each latency and throughput metric's log effects at its k levels are also
  compared with each other: their scatter beyond the bootstrap variances about the best
  monotone profile in load order is a between-level variance τ²
  (:func:`~capplan.models.random_effects.monotone_heterogeneity`, DerSimonian–Laird within
  the blocks of an isotonic fit), added to every level's variance as a known part, as the
  DerSimonian–Laird interval takes it. A change that grows or shrinks with the load (a lock
  that only contends under load) is monotone and adds nothing; so is one the same at every
  level. (DerSimonian–Laird about the common mean was tried first: it made a regression of
  +30 % and +60 % at the two highest of five levels "no significant change".) One step off
  among levels that agree widens that metric's intervals, and its note says by how much.
  A step off at the lowest or highest level looks like a trend and is not caught.
- **All levels at once** (stress runs, :data:`ACROSS_LEVELS`): each latency and throughput
  metric is also tested over all the levels both runs held: the mean of its log effects (the
  ratio of the runs' geometric means over the levels, each level weighing the same), its
  variance their bootstrap parts over k² plus their DerSimonian–Laird τ² about that mean over k,
  with the df of its Q. A change too small for one short step to show adds up over five (on 60
  real default-step runs a 20 % slower target moved every metric +10 … +34 % where no level was
  significant alone in one pair of 20); a change that differs from level to level widens it.
- **Error rate**: difference of proportions ``p_new - p_base`` (absolute), Fisher's exact
  test and Newcombe's hybrid score interval (Newcombe, Stat. Med. 17, 1998,
  method 10).
- **Capacity** (stress runs): the saturation estimate's max throughput (relative; its
  plateau resampled the same way, else its own interval). The steps at or past the knee all
  measure one capacity, so their spread beyond each step's own resampled noise, pooled over
  both runs (DerSimonian–Laird τ² about each run's mean), sees a step that ran slow as a whole
  (a busier minute; a run whose stop rule ended it after one saturated step, whose plateau is
  then that one step): τ² over the plateau's step count is added to each run's variance, with
  the degrees of freedom of its Q (Welch–Satterthwaite), so a spread seen in few steps widens
  the interval by its own uncertainty. The knee and the USL σ, κ
  with the intervals :func:`~capplan.models.saturation.estimate_saturation` gives (σ, κ
  absolute differences, their standard errors from those intervals).

Many metrics are tested at once, so the p-values are adjusted with Holm's step-down
method (Holm, Scand. J. Statist. 6, 1979): the chance that identical runs show any
"significant" metric stays at ``alpha`` (5 %), not 5 % per metric. A stress run's capacity
holds half the weight (weighted Holm, :data:`CAPACITY_WEIGHT`), the latency and throughput
metrics of every level share the other half. A metric *regressed*
(or *improved*) when its adjusted p-value is below ``alpha`` and it moved in the worse
(better) direction; it *fails* when it regressed significantly beyond the allowed amount
(:data:`DEFAULT_MAX_REGRESSION`, or ``--max-regression``): its whole 95 % interval lies
beyond the allowance, so the data show the regression is larger than allowed, not only its
point estimate. A change the size of the allowance then passes however the run's noise
falls, and a run too short to tell says so (the warning on intervals wider than the allowance).
(Letting the point estimate decide, tried again on a real pair against a 5 % slower target,
failed the default 10 % latency allowance on p99 at 3 users, +11.6 % [+5.4, +18.2] where the true
change was +5 %: among dozens of noisy tail percentiles, the significant ones are those whose
estimate the noise pushed up.)

Noise between runs that no single run shows (the machine busier during the whole of one
of them, every level alike) is not in these intervals; docs/compare.md says how to check it
with repeated baselines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from capplan.errors import ConfigError
from capplan.models.bootstrap import (
    SketchMatrix,
    block_count,
    block_length,
    block_weights,
    weighted_quantiles_ms,
    weighted_ratio,
)
from capplan.models.proportions import (
    Z95,
    fisher_exact_p,
    newcombe_interval,
    normal_two_sided_p,
    t_crit95,
    t_two_sided_p,
    wilson_interval,
)
from capplan.models.random_effects import (
    NO_SPREAD,
    Heterogeneity,
    dersimonian_laird,
    monotone_heterogeneity,
    pooled_heterogeneity,
)

PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p99.9", 0.999))
"""Latency percentiles compared, name and quantile."""
DEFAULT_MAX_REGRESSION: dict[str, float] = {
    "p50": 0.10, "p90": 0.10, "p95": 0.10, "p99": 0.10, "p99.9": 0.10, "mean": 0.10,
    "throughput": 0.10, "capacity": 0.05, "error_rate": 0.001,
}
"""Allowed regression per metric: relative for latency, throughput and capacity (10 %, 10 %,
5 %); absolute for the error rate (0.1 percentage point). knee, usl_sigma and usl_kappa
are reported but gate nothing unless given with ``--max-regression``.

Throughput at a matched number of users is the latency restated: by Little's law X = N / (R + Z),
so a cycle time x % longer is a throughput x/(1 + x) lower, and the same 10 % as the mean latency
keeps the two gates in agreement (with think time Z the throughput moves less, so its gate never
fires before the latency's). The service's own limit is the capacity's 5 %. (A 5 % throughput
allowance failed a real pair of 120 s-step runs against a 5 % slower target on the 3-user step
alone: −10.0 % [−12.5, −7.4] where its latency, +10.1 % [+7.1, +13.2], passed its 10 %.)"""
METRICS = (*(name for name, _ in PERCENTILES), "mean", "throughput", "error_rate", "capacity", "knee",
           "usl_sigma", "usl_kappa")
REGRESSED, IMPROVED, NO_CHANGE = "regressed", "improved", "no significant change"
ACROSS_LEVELS = "all levels"
"""The level of a stress run's metric taken over all its levels at once (one more test per metric):
a change the same at every level, too small for one short step to show, adds up over five."""
CAPACITY_WEIGHT = 0.5
"""Share of the family's α that a stress run's capacity is tested at (weighted Holm): the
stress run is run to measure it, so a few-per-cent capacity change is not drowned by the
dozens of latency metrics beside it; they share the other half, and whichever is rejected
passes its share on, as Holm's procedure does."""


@dataclass(frozen=True, eq=False)
class LevelWindow:
    """The steady seconds of one load level of one run (arrays have one entry per second).

    ``latency_sum_ms`` is the second's mean latency × requests (NaN when unknown);
    ``sketches`` is None when the run holds no per-second sketches (Locust CSV imports).
    """

    label: str
    requests: np.ndarray
    errors: np.ndarray
    seconds_s: np.ndarray
    latency_sum_ms: np.ndarray
    sketches: SketchMatrix | None

    @property
    def n_requests(self) -> int:
        """Completed requests in the window (successes and failures)."""
        return int(np.nansum(self.requests))


@dataclass(frozen=True, eq=False)
class CapacityInput:
    """A stress run's saturation numbers (req/s, concurrency) and its plateau windows."""

    max_throughput_rps: float
    max_throughput_ci_rps: tuple[float, float]
    knee_concurrency: float
    usl_sigma: float
    usl_sigma_ci: tuple[float, float]
    usl_kappa: float
    usl_kappa_ci: tuple[float, float]
    plateau: tuple[LevelWindow, ...] = ()
    floor: LevelWindow | None = None
    """The lowest-load step, whose mean latency is the knee's latency floor."""
    saturated: tuple[LevelWindow, ...] = ()
    """Every step at or past the knee, in the plateau or not: their spread is the step-to-step noise."""


@dataclass(frozen=True)
class CompareSettings:
    """Significance level, allowed regressions, bootstrap size and seed (results are reproducible)."""

    max_regression: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MAX_REGRESSION))
    alpha: float = 0.05
    n_resamples: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class MetricComparison:
    """One metric at one level: values, effect with its 95 % interval, test, verdict.

    ``effect`` is relative (``new/base - 1``) when ``relative`` is True, else absolute in
    the metric's unit; ``allowed`` is in the same terms (None: not gated).
    """

    metric: str
    level: str
    unit: str
    base: float
    new: float
    effect: float
    effect_ci: tuple[float, float]
    relative: bool
    worse_when_higher: bool
    p_value: float
    p_adjusted: float
    verdict: str
    allowed: float | None
    fails: bool
    note: str = ""
    base_ci: tuple[float, float] = (math.nan, math.nan)
    new_ci: tuple[float, float] = (math.nan, math.nan)

    @property
    def unresolved(self) -> bool:
        """Regressed by more than its allowance on the estimate, but not shown beyond it: the
        interval reaches back inside the allowance, so the gate passes it (runs too short to tell)."""
        worse = self.effect if self.worse_when_higher else -self.effect
        return self.verdict == REGRESSED and not self.fails and self.allowed is not None and worse > self.allowed

    @property
    def hold_longer(self) -> float:
        """For an unresolved regression, about how many times longer the steps would have to be
        held for the interval to clear the allowance at the same estimate (NaN otherwise)."""
        if not self.unresolved or self.allowed is None:
            return math.nan
        f = math.log1p if self.relative else float  # relative intervals are symmetric in log ratio
        x, allowed = f(self.effect), f(self.allowed if self.worse_when_higher else -self.allowed)
        near = f(self.effect_ci[0] if self.worse_when_higher else self.effect_ci[1])
        return times_longer(abs(x - near), abs(x - allowed))

    def to_dict(self) -> dict:
        """JSON-ready (NaN as None)."""
        return {"metric": self.metric, "level": self.level, "unit": self.unit, "base": _num(self.base),
                "new": _num(self.new), "base_ci": [_num(v) for v in self.base_ci],
                "new_ci": [_num(v) for v in self.new_ci], "effect": _num(self.effect), "effect_ci": [_num(v) for v in self.effect_ci],
                "effect_kind": "relative" if self.relative else "absolute",
                "worse_when": "higher" if self.worse_when_higher else "lower", "p_value": _num(self.p_value),
                "p_adjusted": _num(self.p_adjusted), "verdict": self.verdict, "allowed": self.allowed,
                "fails": self.fails, "unresolved": self.unresolved,
                "hold_longer": _num(self.hold_longer), "note": self.note}


@dataclass(frozen=True)
class Comparison:
    """Every metric compared, the overall verdict and whether the gate fails (exit 1)."""

    metrics: tuple[MetricComparison, ...]
    verdict: str
    fails: bool
    alpha: float
    n_resamples: int
    warnings: tuple[str, ...]

    @property
    def failing(self) -> tuple[MetricComparison, ...]:
        """Metrics that regressed beyond their allowance."""
        return tuple(m for m in self.metrics if m.fails)


@dataclass(frozen=True)
class RunComparison:
    """The comparison of two runs, with what is needed to show it (paths, run ids, scenario)."""

    base_path: str
    new_path: str
    base_run_id: str
    new_run_id: str
    scenario: str
    comparison: Comparison

    def to_dict(self) -> dict:
        """The JSON of ``capplan compare --json``."""
        c = self.comparison
        return {"compare": {
            "base": {"run_id": self.base_run_id, "path": self.base_path},
            "new": {"run_id": self.new_run_id, "path": self.new_path},
            "scenario": self.scenario, "verdict": c.verdict, "fails": c.fails,
            "alpha": c.alpha, "n_resamples": c.n_resamples, "multiple_testing": "holm",
            "capacity_weight": CAPACITY_WEIGHT,
            "metrics": [m.to_dict() for m in c.metrics], "warnings": list(c.warnings)}}


@dataclass(frozen=True)
class _Test:
    metric: str
    level: str
    unit: str
    base: float
    new: float
    effect: float
    ci: tuple[float, float]
    p: float
    relative: bool = True
    higher_worse: bool = True
    note: str = ""
    base_ci: tuple[float, float] = (math.nan, math.nan)
    new_ci: tuple[float, float] = (math.nan, math.nan)


@dataclass(frozen=True)
class _Pending:
    """A per-level ratio metric whose test waits for the spread of its levels (:func:`_with_level_spread`)."""

    metric: str
    level: str
    unit: str
    points: tuple[float, float]
    log_ratio: float
    parts: tuple[tuple[float, float], ...]
    """Each run's (variance of the log statistic, df) from its block bootstrap."""
    higher_worse: bool
    base_ci: tuple[float, float]
    new_ci: tuple[float, float]


@dataclass(frozen=True)
class _Noise:
    """Standard error of a log ratio and its degrees of freedom (infinite: normal)."""

    se: float
    df: float = math.inf


def parse_max_regression(texts: Sequence[str]) -> dict[str, float]:
    """``["p95=10%", "capacity=2%"]`` over :data:`DEFAULT_MAX_REGRESSION` (ConfigError on bad text)."""
    allowed = dict(DEFAULT_MAX_REGRESSION)
    for text in texts:
        name, sep, value = text.partition("=")
        name = name.strip().lower()
        if not sep or name not in METRICS:
            raise ConfigError(f"--max-regression is not METRIC=PCT, {text!r}: use e.g. p95=10% or capacity=5% "
                              f"with a metric among {', '.join(METRICS)}")
        raw = value.strip()
        try:
            number = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
        except ValueError:
            raise ConfigError(f"--max-regression amount is not a number, {text!r}: write e.g. {name}=10%") from None
        if not (math.isfinite(number) and number >= 0):
            raise ConfigError(f"--max-regression amount must be >= 0, {text!r}: write e.g. {name}=10%")
        allowed[name] = number
    return allowed


def compare_runs(levels: Sequence[tuple[LevelWindow, LevelWindow]],
                 capacity: tuple[CapacityInput, CapacityInput] | None = None,
                 settings: CompareSettings | None = None, one_curve: bool = False) -> Comparison:
    """Compare matched (base, new) level windows and, for stress runs, their capacities.

    ``one_curve``: the levels are points of one load curve, in load order (a stress run), so
    each latency and throughput metric takes in the spread of its levels (the module docstring).
    """
    settings = settings or CompareSettings()
    rng = np.random.default_rng(settings.seed)
    tests: list[_Test] = []
    warnings: list[str] = []
    short = []
    pending: list[_Test | _Pending] = []
    for base, new in levels:
        pending += _level_tests(base, new, settings.n_resamples, rng)
        if min(len(base.requests), len(new.requests)) < 10:
            short.append(f"{base.label} ({min(len(base.requests), len(new.requests))} s)")
    if short:
        warnings.append(f"levels with fewer than 10 steady seconds: {', '.join(short)}; the block bootstrap sees "
                        "little of their correlation, so their intervals may be too narrow: hold levels longer")
    tests += _with_level_spread(pending, one_curve)
    if one_curve:
        tests += _across_levels(pending)
    if capacity is not None:
        tests += _capacity_tests(*capacity, settings.n_resamples, rng)
    unresolved = _unresolved(tests, settings)
    if unresolved:
        warnings.append(f"intervals wider than the allowed regression: {unresolved}")
    return _decide(tests, settings, tuple(dict.fromkeys(warnings)))


def times_longer(half_width: float, target: float) -> float:
    """How many times longer the steps must be held to narrow an interval's half-width to
    ``target``: the noise of a mean of n seconds falls as 1/√n (a step-to-step spread, where
    there is one, falls slower, so this is the least it takes)."""
    return (half_width / target) ** 2 if target > 0 else math.inf


def _unresolved(tests: Sequence[_Test], settings: CompareSettings, shown: int = 4) -> str:
    """The gated metrics whose 95 % interval is wider (half-width) than their allowance, and how
    much longer the steps would have to be held for the widest, as text ('' when none)."""
    wide, longer = [], 1.0
    for t in tests:
        allowed = settings.max_regression.get(t.metric)
        half = (t.ci[1] - t.ci[0]) / 2.0
        if allowed is not None and math.isfinite(half) and half > allowed:
            amount = (f"±{half:.1%} (allowed {100 * allowed:g}%)" if t.relative
                      else f"±{half:.3g} (allowed {allowed:.3g})")
            wide.append(f"{t.metric}@{t.level} {amount}")
            f = math.log1p if t.relative else float  # as MetricComparison.hold_longer: in log ratio
            longer = max(longer, times_longer((f(t.ci[1]) - f(t.ci[0])) / 2.0, f(allowed)))
    if not wide:
        return ""
    more = f" and {len(wide) - shown} more" if len(wide) > shown else ""
    return f"{', '.join(wide[:shown])}{more}; a regression of that size can pass as no significant change: " \
           f"{hold_longer_text(longer)} or give a larger --max-regression"


def hold_longer_text(factor: float) -> str:
    """``hold the steps about 1.6× longer`` (``12×``; no figure when no finite one exists)."""
    if not math.isfinite(factor):
        return "hold the steps longer"
    return f"hold the steps about {factor:.{1 if factor < 10 else 0}f}× longer"


def _level_tests(base: LevelWindow, new: LevelWindow, n: int, rng: np.random.Generator) -> list[_Test | _Pending]:
    bb, bn = _block_s(base), _block_s(new)
    wb, wn = block_weights(len(base.requests), n, rng, bb), block_weights(len(new.requests), n, rng, bn)
    blocks = (block_count(len(base.requests), bb), block_count(len(new.requests), bn))
    ones_b, ones_n = np.ones((1, len(base.requests))), np.ones((1, len(new.requests)))
    tests: list[_Test | _Pending | None] = []
    if base.sketches is not None and new.sketches is not None:
        qs = [q for _, q in PERCENTILES]
        point_b = weighted_quantiles_ms(base.sketches, ones_b, qs)[0]
        point_n = weighted_quantiles_ms(new.sketches, ones_n, qs)[0]
        reps_b, reps_n = weighted_quantiles_ms(base.sketches, wb, qs), weighted_quantiles_ms(new.sketches, wn, qs)
        fewest = min(base.n_requests, new.n_requests)
        for j, (name, q) in enumerate(PERCENTILES):
            if fewest < 10.0 / (1.0 - q):
                continue  # not enough requests beyond the percentile for a stable estimate
            tests.append(_ratio_test(name, base.label, "ms", (point_b[j], point_n[j]), (reps_b[:, j], reps_n[:, j]),
                                     blocks))
    if np.all(np.isfinite(base.latency_sum_ms)) and np.all(np.isfinite(new.latency_sum_ms)):
        tests.append(_ratio_test("mean", base.label, "ms",
                                 (_ratio(base.latency_sum_ms, base.requests), _ratio(new.latency_sum_ms, new.requests)),
                                 (weighted_ratio(base.latency_sum_ms, base.requests, wb),
                                  weighted_ratio(new.latency_sum_ms, new.requests, wn)), blocks))
    tests.append(_ratio_test("throughput", base.label, "req/s",
                             (_ratio(base.requests, base.seconds_s), _ratio(new.requests, new.seconds_s)),
                             (weighted_ratio(base.requests, base.seconds_s, wb),
                              weighted_ratio(new.requests, new.seconds_s, wn)), blocks, higher_worse=False))
    tests.append(_proportion_test(base, new))
    return [t for t in tests if t is not None]


def _block_s(w: LevelWindow) -> int:
    """The window's bootstrap block length (s), from its per-second throughput and mean latency."""
    with np.errstate(invalid="ignore", divide="ignore"):
        throughput = np.where(w.seconds_s > 0, w.requests / w.seconds_s, np.nan)
        latency = np.where(w.requests > 0, w.latency_sum_ms / w.requests, np.nan)
    return block_length(len(w.requests), throughput, latency)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> float:
    bottom = float(np.nansum(denominator))
    return float(np.nansum(numerator)) / bottom if bottom > 0 else math.nan


def _ratio_test(metric: str, level: str, unit: str, points: tuple[float, float],
                reps: tuple[np.ndarray, np.ndarray], blocks: tuple[int, int],
                higher_worse: bool = True) -> _Pending | None:
    """log(new/base) with each run's bootstrap (variance × k/(k − 1), df k − 1), to be tested by
    :func:`_level_test` once the spread of the levels is known."""
    base, new = points
    if not (base > 0 and new > 0 and math.isfinite(base) and math.isfinite(new)):
        return None
    parts = [_log_variance(values, k) for values, k in zip(reps, blocks, strict=True)]
    if None in parts:
        return None
    return _Pending(metric, level, unit, points, math.log(new / base), tuple(parts), higher_worse,
                    _percentile_interval(reps[0]), _percentile_interval(reps[1]))


def _by_metric(items: Sequence[_Test | _Pending]) -> dict[str, list[_Pending]]:
    """The pending per-level tests of each metric, levels in the order given (load order)."""
    groups: dict[str, list[_Pending]] = {}
    for p in items:
        if isinstance(p, _Pending):
            groups.setdefault(p.metric, []).append(p)
    return groups


def _log_effects(same: Sequence[_Pending]) -> tuple[list[float], list[float]]:
    """The levels' log ratios and their variances (both runs' bootstrap parts)."""
    return [p.log_ratio for p in same], [sum(v for v, _ in p.parts) for p in same]


def _with_level_spread(items: Sequence[_Test | _Pending], one_curve: bool) -> list[_Test]:
    """Each pending metric tested, with the spread of its metric's levels when they are one curve."""
    spread = {metric: monotone_heterogeneity(*_log_effects(same)) if one_curve else NO_SPREAD
              for metric, same in _by_metric(items).items()}
    return [item if isinstance(item, _Test) else _level_test(item, spread[item.metric]) for item in items]


def _across_levels(items: Sequence[_Test | _Pending]) -> list[_Test]:
    """Each latency and throughput metric over all the levels of one curve (:data:`ACROSS_LEVELS`)."""
    return [_across_levels_test(same) for same in _by_metric(items).values() if len(same) >= 2]


def _across_levels_test(same: Sequence[_Pending]) -> _Test:
    """The mean of the levels' log ratios (the ratio of the runs' geometric means over the levels),
    its variance the levels' bootstrap parts over k² plus their DerSimonian–Laird τ² about that
    mean over k, with the df of its Q (Welch–Satterthwaite)."""
    k, first = len(same), same[0]
    spread = dersimonian_laird(*_log_effects(same))
    parts = [(v / k ** 2, df) for p in same for v, df in p.parts]
    note = f"geometric mean over the {k} levels, each level weighing the same"
    if spread.tau2 > 0:
        parts.append((spread.tau2 / k, float(spread.df)))
        note += f"; ±{math.expm1(math.sqrt(spread.tau2)):.1%} between-level spread added"
    points = tuple(math.exp(float(np.mean([math.log(p.points[run]) for p in same]))) for run in (0, 1))
    own = [_welch([(p.parts[run][0] / k ** 2, p.parts[run][1]) for p in same]) for run in (0, 1)]
    test = _wald(first.metric, ACROSS_LEVELS, first.unit, points, float(np.mean([p.log_ratio for p in same])),
                 _welch(parts), first.higher_worse, note)
    return replace(test, base_ci=_log_interval(points[0], (own[0].se ** 2, own[0].df)),
                   new_ci=_log_interval(points[1], (own[1].se ** 2, own[1].df)))


def _level_test(p: _Pending, spread: Heterogeneity) -> _Test:
    """t test of log(new/base), Welch–Satterthwaite df; the levels' τ² is one more part, taken as known."""
    parts, note = list(p.parts), ""
    if spread.tau2 > 0:
        parts.append((spread.tau2, math.inf))
        spread_pct = math.expm1(math.sqrt(spread.tau2))
        note = f"±{spread_pct:.1%} between-level spread added: the levels scatter beyond their noise"
    test = _wald(p.metric, p.level, p.unit, p.points, p.log_ratio, _welch(parts), p.higher_worse, note)
    return replace(test, base_ci=p.base_ci, new_ci=p.new_ci)


def _log_variance(values: np.ndarray, k: int) -> tuple[float, float] | None:
    """(variance of the log over one run's resamples × k/(k − 1), its df k − 1), or None if unusable."""
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(values)
    logs = logs[np.isfinite(logs)]
    if logs.size < 10 or k < 2:
        return None
    return float(np.var(logs, ddof=1)) * k / (k - 1), float(k - 1)


def _welch(parts: Sequence[tuple[float, float]]) -> _Noise:
    """The SE of a sum of independent estimates (variance, df) and its Welch–Satterthwaite df."""
    total = sum(v for v, _ in parts)
    if total <= 0:
        return _Noise(0.0)
    spread = sum(v ** 2 / d for v, d in parts if v > 0)
    return _Noise(math.sqrt(total), total ** 2 / spread if spread > 0 else math.inf)


def _percentile_interval(reps: np.ndarray) -> tuple[float, float]:
    """95 % percentile interval of one run's bootstrap replicates."""
    finite = reps[np.isfinite(reps)]
    return (float(np.quantile(finite, 0.025)), float(np.quantile(finite, 0.975))) if finite.size else (math.nan,) * 2


def _wald(metric: str, level: str, unit: str, points: tuple[float, float], log_ratio: float, noise: _Noise,
          higher_worse: bool, note: str = "") -> _Test:
    se = noise.se
    if se > 0 and math.isfinite(se):
        p = t_two_sided_p(log_ratio / se, noise.df)
    else:
        p = 1.0 if log_ratio == 0 else 0.0
    crit = t_crit95(noise.df)
    ci = (math.expm1(log_ratio - crit * se), math.expm1(log_ratio + crit * se))
    return _Test(metric, level, unit, points[0], points[1], math.expm1(log_ratio), ci, p,
                 higher_worse=higher_worse, note=note)


def _proportion_test(base: LevelWindow, new: LevelWindow) -> _Test | None:
    nb, nn = base.n_requests, new.n_requests
    eb, en = int(np.nansum(base.errors)), int(np.nansum(new.errors))
    if nb == 0 or nn == 0:
        return None
    p = fisher_exact_p(en, nn, eb, nb)
    diff = en / nn - eb / nb
    return _Test("error_rate", base.label, "fraction", eb / nb, en / nn, diff, newcombe_interval(en, nn, eb, nb),
                 p, relative=False, note="Fisher exact test, Newcombe interval",
                 base_ci=wilson_interval(eb, nb), new_ci=wilson_interval(en, nn))


def _capacity_tests(base: CapacityInput, new: CapacityInput, n: int, rng: np.random.Generator) -> list[_Test]:
    part_b, part_n, parts = _capacity_noise(base, new, n, rng)
    noise = _welch(parts)
    tests: list[_Test] = []
    if base.max_throughput_rps > 0 and new.max_throughput_rps > 0 and math.isfinite(noise.se):
        log_ratio = math.log(new.max_throughput_rps / base.max_throughput_rps)
        tests.append(replace(_wald("capacity", "stress", "req/s", (base.max_throughput_rps, new.max_throughput_rps),
                                   log_ratio, noise, higher_worse=False, note="max sustainable throughput"),
                             base_ci=_log_interval(base.max_throughput_rps, part_b),
                             new_ci=_log_interval(new.max_throughput_rps, part_n)))
        if base.knee_concurrency > 0 and new.knee_concurrency > 0:
            floors = (_floor_log_variance(base, n, rng), _floor_log_variance(new, n, rng))
            knee_noise, note = _welch((*parts, *floors)), "max throughput × latency floor, both resampled"
            if None in floors:
                knee_noise, note = noise, "interval from the capacity's (latency floor taken as exact)"
            tests.append(_wald("knee", "stress", "concurrency", (base.knee_concurrency, new.knee_concurrency),
                               math.log(new.knee_concurrency / base.knee_concurrency), knee_noise,
                               higher_worse=False, note=note))
    for metric, pick in (("usl_sigma", lambda c: (c.usl_sigma, c.usl_sigma_ci)),
                         ("usl_kappa", lambda c: (c.usl_kappa, c.usl_kappa_ci))):
        test = _difference_test(metric, pick(base), pick(new))
        if test is not None:
            tests.append(test)
    return tests


def _floor_log_variance(cap: CapacityInput, n: int, rng: np.random.Generator) -> tuple[float, float] | None:
    """(variance, df) of log(R₀ + Z), the knee's cycle time, from the lowest step's resampled mean latency.

    knee = X_max·(R₀ + Z), so Z = knee/X_max − R₀ with R₀ that step's mean latency (s).
    """
    w = cap.floor
    if w is None or not np.all(np.isfinite(w.latency_sum_ms)) or cap.max_throughput_rps <= 0:
        return None
    floor_s = _ratio(w.latency_sum_ms, w.requests) / 1000.0
    think_s = max(cap.knee_concurrency / cap.max_throughput_rps - floor_s, 0.0)
    b = _block_s(w)
    reps = weighted_ratio(w.latency_sum_ms, w.requests, block_weights(len(w.requests), n, rng, b)) / 1000.0 + think_s
    return _log_variance(reps[np.isfinite(reps) & (reps > 0)], block_count(len(w.requests), b))


def _log_interval(value: float, part: tuple[float, float]) -> tuple[float, float]:
    """95 % interval of one run's value from its (log variance, df)."""
    half = t_crit95(part[1]) * math.sqrt(part[0])
    return (value * math.exp(-half), value * math.exp(half))


def _capacity_log_variance(cap: CapacityInput, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """(variance, df) of log(max throughput): block bootstrap of the plateau steps' mean throughput
    (df: their blocks − 1), else from its CI (df infinite: the CI already carries its own t)."""
    if cap.plateau:
        blocks = [_block_s(w) for w in cap.plateau]
        reps = np.mean([weighted_ratio(w.requests, w.seconds_s, block_weights(len(w.requests), n, rng, b))
                        for w, b in zip(cap.plateau, blocks, strict=True)], axis=0)
        part = _log_variance(reps[np.isfinite(reps) & (reps > 0)],
                             sum(block_count(len(w.requests), b) for w, b in zip(cap.plateau, blocks, strict=True)))
        if part is not None:
            return part
    lo, hi = cap.max_throughput_ci_rps
    if lo > 0 and math.isfinite(hi) and hi > lo:
        return ((math.log(hi) - math.log(lo)) / (2 * Z95)) ** 2, math.inf
    return math.nan, math.inf


def _step_spread(caps: Sequence[CapacityInput], n: int, rng: np.random.Generator) -> Heterogeneity:
    """τ² of one saturated step's log throughput about its run's mean beyond the step's own
    resampled variance (DerSimonian–Laird, pooled over the runs): the steps at or past the knee
    all measure one capacity, and their excess spread is the step-to-step noise (a busier
    moment, a slower step) that the seconds of one step cannot show. All of them, not only the
    plateau's: steps selected for lying within 5 % of the highest have a truncated spread (the
    plateau windows stand in when no saturated ones are given)."""
    groups = []
    for cap in caps:
        logs, variances = [], []
        for w in cap.saturated or cap.plateau:
            b = _block_s(w)
            reps = weighted_ratio(w.requests, w.seconds_s, block_weights(len(w.requests), n, rng, b))
            part = _log_variance(reps[np.isfinite(reps) & (reps > 0)], block_count(len(w.requests), b))
            if part is not None and _ratio(w.requests, w.seconds_s) > 0:
                logs.append(math.log(_ratio(w.requests, w.seconds_s)))
                variances.append(part[0])
        groups.append((logs, variances))
    return pooled_heterogeneity(groups)


def _capacity_noise(base: CapacityInput, new: CapacityInput, n: int,
                    rng: np.random.Generator) -> tuple[tuple[float, float], tuple[float, float],
                                                        list[tuple[float, float]]]:
    """Each run's (log variance, df) of its capacity, and the independent parts of their log ratio's.

    A run's variance is its plateau seconds' block bootstrap plus the step spread τ²
    (:func:`_step_spread`) over its plateau's step count, the degrees of freedom of the sum by
    Welch–Satterthwaite (τ² carries the df of its Q: a spread seen in two steps is uncertain).
    The log ratio's parts are the two bootstraps and the one τ² term both runs share.
    """
    spread = _step_spread((base, new), n, rng)
    shown, independent, extra = [], [], 0.0
    for cap in (base, new):
        part = _capacity_log_variance(cap, n, rng)
        independent.append(part)
        if spread.tau2 > 0 and cap.plateau and math.isfinite(part[0]):
            extra += spread.tau2 / len(cap.plateau)
            noise = _welch([part, (spread.tau2 / len(cap.plateau), float(spread.df))])
            part = (noise.se ** 2, noise.df)
        shown.append(part)
    if extra > 0:
        independent.append((extra, float(spread.df)))  # one estimate of τ², in both runs' variances
    return shown[0], shown[1], independent


def _difference_test(metric: str, base: tuple[float, tuple[float, float]],
                     new: tuple[float, tuple[float, float]]) -> _Test | None:
    (vb, (lb, ub)), (vn, (ln, un)) = base, new
    se = math.hypot((ub - lb) / (2 * Z95), (un - ln) / (2 * Z95))
    if not (math.isfinite(se) and math.isfinite(vb) and math.isfinite(vn)) or se <= 0:
        return None
    diff = vn - vb
    return _Test(metric, "stress", "", vb, vn, diff, (diff - Z95 * se, diff + Z95 * se),
                 normal_two_sided_p(diff / se), relative=False, note="from the USL fits' intervals",
                 base_ci=(lb, ub), new_ci=(ln, un))


def holm_adjust(p_values: Sequence[float], weights: Sequence[float] | None = None) -> np.ndarray:
    """Holm step-down adjusted p-values (same order as given), weighted when ``weights`` are given.

    Weighted Holm (Holm 1979, §4): order by p/w; the j-th is rejected at level α when every
    earlier one was and p_(j) ≤ α·w_(j) / (the weights of it and all later ones). It is the closed
    test of weighted Bonferroni tests, so the family-wise error stays at α whatever the weights.
    """
    p = np.asarray(p_values, dtype=float)
    w = np.ones(p.size) if weights is None else np.asarray(weights, dtype=float)
    order = np.lexsort((np.arange(p.size), p / w))
    remaining = np.cumsum(w[order][::-1])[::-1]
    adjusted = np.maximum.accumulate(np.minimum(1.0, p[order] * remaining / w[order]))
    out = np.empty(p.size)
    out[order] = adjusted
    return out


def _holm_weights(tests: Sequence[_Test]) -> list[float]:
    """Holm weights: a stress run's capacity, the one number a plan is built on, weighs as much
    as every other metric together (:data:`CAPACITY_WEIGHT` of the family's α); the rest equally."""
    others = sum(t.metric != "capacity" for t in tests)
    capacity = CAPACITY_WEIGHT / (1.0 - CAPACITY_WEIGHT) * others if others else 1.0
    return [capacity if t.metric == "capacity" else 1.0 for t in tests]


def _decide(tests: list[_Test], settings: CompareSettings, warnings: tuple[str, ...]) -> Comparison:
    adjusted = holm_adjust([t.p for t in tests], _holm_weights(tests)) if tests else np.array([])
    metrics = tuple(_verdict(t, float(a), settings) for t, a in zip(tests, adjusted, strict=True))
    verdicts = {m.verdict for m in metrics}
    overall = REGRESSED if REGRESSED in verdicts else IMPROVED if IMPROVED in verdicts else NO_CHANGE
    return Comparison(metrics, overall, any(m.fails for m in metrics), settings.alpha, settings.n_resamples, warnings)


def _verdict(t: _Test, p_adjusted: float, settings: CompareSettings) -> MetricComparison:
    worse = t.effect > 0 if t.higher_worse else t.effect < 0
    verdict = NO_CHANGE
    if p_adjusted < settings.alpha and t.effect != 0:
        verdict = REGRESSED if worse else IMPROVED
    allowed = settings.max_regression.get(t.metric)
    fails = verdict == REGRESSED and allowed is not None and _shown_regression(t.ci, t.higher_worse) > allowed
    return MetricComparison(t.metric, t.level, t.unit, t.base, t.new, t.effect, t.ci, t.relative, t.higher_worse,
                            t.p, p_adjusted, verdict, allowed, fails, t.note, t.base_ci, t.new_ci)


def _shown_regression(ci: tuple[float, float], higher_worse: bool) -> float:
    """The regression the 95 % interval ``ci`` of an effect establishes: its end nearest to no
    change, in the worse direction (≤ 0 when the interval reaches back to no change or better)."""
    return ci[0] if higher_worse else -ci[1]


def _num(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None
