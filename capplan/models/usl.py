"""Gunther's Universal Scalability Law: fit, derived numbers and exact inverses.

    X(N) = λ·N / (1 + σ·(N − 1) + κ·N·(N − 1))

N is the concurrency (users, threads, or X·R by Little's law), X the throughput (req/s),
σ the contention (serial) fraction, κ the coherency (crosstalk) cost and λ the throughput
of a single client. Source: N. J. Gunther, *Guerrilla Capacity Planning* (2007), ch. 4–6;
the fit follows the R package ``usl`` (S. Moeding, smoeding/usl): bounded nonlinear least
squares with 0 ≤ σ, κ ≤ 1 and λ > 0, standard errors from the Jacobian,
``cov = s²·(JᵀJ)⁻¹`` with ``s² = RSS / (n − 3)``. Confidence intervals are two-sided 95 %
Student-t intervals on n − 3 df by default (``estimate ± t(0.975, n−3)·SE``); R ``usl``
(``R/confint.R``) instead uses ``estimate ± qt(level, n − 1)·SE``, a narrower interval, which
``UslModel(interval="r-usl")`` reproduces for comparison with its published output.

Derived numbers (Gunther 2007, §5.5): peak concurrency ``N* = sqrt((1 − σ)/κ)``, peak
throughput ``X(N*)``, Amdahl ceiling ``λ/σ``. In a closed system with no think time the
response time is ``R(N) = N / X(N)`` (Little's law), so ``λ·R = 1 + σ(N−1) + κN(N−1)``;
its inverse ``N(R)`` and the response time at a given throughput ``R(X)`` are solved
exactly from the quadratics below, keeping κ (dropping it underestimates R near the peak).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Self

import numpy as np
from numpy.typing import ArrayLike

from capplan.errors import InputDataError, ModelError, NotFittedError

MIN_LEVELS = 3
"""A USL fit has three parameters and needs at least three distinct load levels."""
_INTERVALS = {"t", "r-usl"}
RECOMMENDED_LEVELS = 6
"""Fewer distinct load levels than this give a fit that may not be accurate (R ``usl`` warns too)."""


@dataclass(frozen=True)
class UslFit:
    """A fitted Universal Scalability Law curve with its uncertainty.

    ``lambda_rps`` is the single-client throughput (req/s per unit of concurrency);
    ``*_se`` are standard errors and ``*_ci`` 95 % confidence intervals (t, n − 3 df).
    """

    sigma: float
    kappa: float
    lambda_rps: float
    sigma_se: float
    kappa_se: float
    lambda_se: float
    sigma_ci: tuple[float, float]
    kappa_ci: tuple[float, float]
    lambda_ci: tuple[float, float]
    n_points: int
    n_levels: int
    residual_std_error_rps: float
    interval: str = "t"
    warnings: tuple[str, ...] = ()
    covariance: tuple[tuple[float, ...], ...] = ()

    def peak_throughput_ci_rps(self) -> tuple[float, float]:
        """95 % interval of the peak throughput by the delta method on ``covariance`` (t, n − 3 df).

        NaN bounds when the covariance is unknown (exactly three points).
        """
        if not self.covariance or self.n_points <= 3:
            return (math.nan, math.nan)
        base = np.array([self.sigma, self.kappa, self.lambda_rps])
        grad = np.zeros(3)
        for i in range(3):
            step = max(abs(base[i]) * 1e-6, 1e-12)
            up, down = base.copy(), base.copy()
            up[i] += step
            down[i] = max(down[i] - step, 0.0)
            grad[i] = (_peak_of(up) - _peak_of(down)) / (up[i] - down[i])
        var = float(grad @ np.asarray(self.covariance) @ grad)
        half = t_quantile(0.975, self.n_points - 3) * math.sqrt(max(var, 0.0))
        peak = self.peak_throughput_rps
        return (peak - half, peak + half)

    @property
    def peak_concurrency(self) -> float:
        """N* = sqrt((1 − σ)/κ); infinite when κ = 0 (throughput never turns down)."""
        if self.kappa <= 0:
            return math.inf
        return math.sqrt((1.0 - self.sigma) / self.kappa)

    @property
    def peak_throughput_rps(self) -> float:
        """X(N*) in req/s; the Amdahl ceiling λ/σ when κ = 0, infinite when σ = κ = 0."""
        n_star = self.peak_concurrency
        if math.isinf(n_star):
            return self.amdahl_ceiling_rps
        return float(self.throughput_rps(n_star))

    @property
    def amdahl_ceiling_rps(self) -> float:
        """λ/σ in req/s: the asymptote of X(N) when κ = 0; infinite when σ = 0."""
        return self.lambda_rps / self.sigma if self.sigma > 0 else math.inf

    def throughput_rps(self, concurrency: ArrayLike) -> np.ndarray:
        """X(N) in req/s for concurrency N (scalar or array)."""
        n = np.asarray(concurrency, dtype=float)
        return self.lambda_rps * n / _denominator(n, self.sigma, self.kappa)

    def response_time_s(self, concurrency: ArrayLike) -> np.ndarray:
        """R(N) = N / X(N) in seconds (closed system, no think time)."""
        n = np.asarray(concurrency, dtype=float)
        return _denominator(n, self.sigma, self.kappa) / self.lambda_rps

    def concurrency_for_response_time(self, response_time_s: float) -> float:
        """Exact N(R): the largest N whose response time is at most ``response_time_s``.

        Solves κN² + (σ − κ)N + (1 − σ − λR) = 0 for its positive root; linear when κ = 0.
        Returns 0 when R is below the single-client floor 1/λ, infinity when σ = κ = 0.
        """
        lam_r = self.lambda_rps * response_time_s
        if lam_r < 1.0 - 1e-12:
            return 0.0
        lam_r = max(lam_r, 1.0)  # R at the floor 1/λ within rounding: N = 1
        s, k = self.sigma, self.kappa
        if k < 1e-150:  # squares of smaller numbers underflow; κ that small is zero
            return math.inf if s <= 0 else (lam_r - 1.0 + s) / s
        b, c = s - k, 1.0 - s - lam_r
        root = math.sqrt(b * b - 4.0 * k * c)
        return -2.0 * c / (b + root) if b > 0 else (root - b) / (2.0 * k)  # no cancellation for tiny κ

    def concurrency_for_throughput(self, throughput_rps: float) -> float:
        """Exact N on the rising branch where X(N) = ``throughput_rps``; NaN above the peak.

        X·κN² + (X(σ − κ) − λ)N + X(1 − σ) = 0; the smaller root, written in the
        cancellation-free form N = 2X(1 − σ) / (B + sqrt(B² − 4X²κ(1 − σ))), B = λ − X(σ − κ).
        """
        x = float(throughput_rps)
        if x <= 0:
            return 0.0
        s, k = self.sigma, self.kappa
        b = self.lambda_rps - x * (s - k)
        disc = b * b - 4.0 * x * x * k * (1.0 - s)
        if b <= 0 or disc < 0:
            return math.nan
        return 2.0 * x * (1.0 - s) / (b + math.sqrt(disc))

    def response_time_for_throughput_s(self, throughput_rps: float) -> float:
        """Exact R(X) = N(X)/X in seconds on the rising branch (κ kept); NaN above the peak."""
        x = float(throughput_rps)
        if x <= 0:
            return 1.0 / self.lambda_rps
        return self.concurrency_for_throughput(x) / x


class UslModel:
    """Estimator for the Universal Scalability Law (see the module docstring).

    ``n_starts`` is the number of starting points per parameter axis of the multi-start
    search (the fit keeps the lowest residual sum of squares); ``interval`` is ``"t"``
    (two-sided 95 %, n − 3 df) or ``"r-usl"`` (R ``usl``'s ``qt(0.95, n − 1)``). After
    :meth:`fit` the learned ``fit_`` (:class:`UslFit`), ``sigma_``, ``kappa_``, ``lambda_`` are set.
    """

    def __init__(self, n_starts: int = 3, interval: str = "t") -> None:
        if interval not in _INTERVALS:
            raise ValueError(f"interval must be one of {sorted(_INTERVALS)}, got {interval!r}")
        self.n_starts = n_starts
        self.interval = interval

    def fit(self, concurrency: ArrayLike, throughput_rps: ArrayLike) -> Self:
        """Fit σ, κ, λ to measured (N, X) pairs; repeated N (several runs) are allowed."""
        n, x = _validated(concurrency, throughput_rps)
        self.fit_ = _fit_parameters(n, x, self.n_starts, self.interval)
        self.sigma_ = self.fit_.sigma
        self.kappa_ = self.fit_.kappa
        self.lambda_ = self.fit_.lambda_rps
        return self

    def predict(self, concurrency: ArrayLike) -> np.ndarray:
        """Throughput X(N) in req/s; raises :class:`NotFittedError` before :meth:`fit`."""
        if not hasattr(self, "fit_"):
            raise NotFittedError("USL model used before fit, UslModel(), call .fit(concurrency, throughput) first")
        return self.fit_.throughput_rps(concurrency)


def t_quantile(p: float, df: int) -> float:
    """Student-t quantile (scipy.special.stdtrit: lighter to import than scipy.stats)."""
    from scipy.special import stdtrit

    return float(stdtrit(df, p))


def fit_usl(concurrency: ArrayLike, throughput_rps: ArrayLike) -> UslFit:
    """Convenience: ``UslModel().fit(n, x).fit_``."""
    return UslModel().fit(concurrency, throughput_rps).fit_


def _peak_of(p: np.ndarray) -> float:
    sigma, kappa, lam = float(p[0]), float(p[1]), float(p[2])
    if kappa <= 0:
        return lam / sigma if sigma > 0 else math.inf
    n_star = math.sqrt((1.0 - sigma) / kappa)
    return lam * n_star / float(_denominator(np.asarray(n_star), sigma, kappa))


def _denominator(n: np.ndarray, sigma: float, kappa: float) -> np.ndarray:
    return 1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0)


def _validated(concurrency: ArrayLike, throughput_rps: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    n = np.asarray(concurrency, dtype=float).ravel()
    x = np.asarray(throughput_rps, dtype=float).ravel()
    if n.shape != x.shape:
        raise InputDataError(f"USL fit needs one throughput per concurrency, got {n.size} and {x.size} values, "
                             "pass arrays of equal length")
    keep = np.isfinite(n) & np.isfinite(x)
    n, x = n[keep], x[keep]
    if np.any(n <= 0) or np.any(x < 0):
        bad = n[n <= 0].tolist()[:3] or x[x < 0].tolist()[:3]
        raise InputDataError(f"USL fit needs positive concurrency and non-negative throughput, got {bad}, "
                             "drop or fix those rows")
    if x.size and not np.any(x > 0):
        raise InputDataError("USL fit needs some non-zero throughput, got all zeros, "
                             "check that the load test reached the target")
    levels = np.unique(n)
    if levels.size < MIN_LEVELS:
        shown = ", ".join(f"{v:g}" for v in levels)
        raise InputDataError(f"USL fit needs >= {MIN_LEVELS} load levels, got {levels.size} ({shown}), "
                             "add steps or lower --step-duration")
    return n, x


def _fit_parameters(n: np.ndarray, x: np.ndarray, n_starts: int, interval: str) -> UslFit:
    """Multi-start bounded least squares (scipy TRF); keeps the start with the lowest RSS."""
    from scipy.optimize import least_squares

    best = None
    for start in _starting_points(n, x, n_starts):
        result = least_squares(_residuals, start, jac=_jacobian, args=(n, x), method="trf",
                               bounds=([0.0, 0.0, 1e-12], [1.0, 1.0, np.inf]), x_scale="jac",
                               ftol=1e-14, xtol=1e-14, gtol=1e-14, max_nfev=2000)
        if best is None or result.cost < best.cost:
            best = result
    if best is None or not np.all(np.isfinite(best.x)):
        raise ModelError(f"USL fit failed, parameters {None if best is None else best.x.tolist()}, "
                         "check the measurements for outliers or add load levels")
    params = best.x.copy()
    params[:2][params[:2] < 1e-15] = 0.0  # numerically at the σ = 0 or κ = 0 bound
    return _summarise(params, n, x, interval)


def _starting_points(n: np.ndarray, x: np.ndarray, n_starts: int) -> list[np.ndarray]:
    """A linearised estimate plus a log-spaced grid over σ and κ (λ from the lowest loads)."""
    per_client = x / n
    lam0 = float(np.max(per_client[n <= np.min(n) * 1.0001])) or float(np.max(per_client))
    lam0 = max(lam0, float(np.max(per_client)), 1e-9)
    starts = [np.array([*_linearised_sigma_kappa(n, x, lam0), lam0])]
    for sigma0 in np.geomspace(1e-3, 0.5, n_starts):
        for kappa0 in np.geomspace(1e-6, 1e-2, n_starts):
            starts.append(np.array([sigma0, kappa0, lam0]))
    return starts


def _linearised_sigma_kappa(n: np.ndarray, x: np.ndarray, lam0: float) -> tuple[float, float]:
    """Gunther's transform: λN/X − 1 = σ(N − 1) + κN(N − 1), solved by linear least squares."""
    ok = x > 0
    y = lam0 * n[ok] / x[ok] - 1.0
    design = np.column_stack([n[ok] - 1.0, n[ok] * (n[ok] - 1.0)])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(np.clip(coef[0], 1e-6, 0.99)), float(np.clip(coef[1], 1e-9, 0.99))


def _residuals(p: np.ndarray, n: np.ndarray, x: np.ndarray) -> np.ndarray:
    return p[2] * n / _denominator(n, p[0], p[1]) - x


def _jacobian(p: np.ndarray, n: np.ndarray, x: np.ndarray) -> np.ndarray:
    d = _denominator(n, p[0], p[1])
    common = -p[2] * n * (n - 1.0) / (d * d)
    return np.column_stack([common, common * n, n / d])


def _summarise(p: np.ndarray, n: np.ndarray, x: np.ndarray, interval: str) -> UslFit:
    """Standard errors from s²(JᵀJ)⁻¹ and t-intervals (see :class:`UslModel` for ``interval``)."""
    resid = _residuals(p, n, x)
    df = n.size - 3
    warnings = []
    levels = np.unique(n).size
    if levels < RECOMMENDED_LEVELS:
        warnings.append(f"USL fit on {levels} load levels (fewer than {RECOMMENDED_LEVELS}): "
                        "the result might not be accurate; add steps")
    if df > 0:
        s2 = float(resid @ resid) / df
        jac = _jacobian(p, n, x)
        cov = s2 * np.linalg.pinv(jac.T @ jac)
        se = np.sqrt(np.abs(np.diag(cov)))
        quantile = t_quantile(0.975, df) if interval == "t" else t_quantile(0.95, n.size - 1)
        half = quantile * se
    else:
        s2, se, half, cov = math.nan, np.full(3, math.nan), np.full(3, math.nan), None
        warnings.append("USL fit has no residual degrees of freedom: no standard errors; add load levels")
    ci = [(float(p[i] - half[i]), float(p[i] + half[i])) for i in range(3)]
    return UslFit(sigma=float(p[0]), kappa=float(p[1]), lambda_rps=float(p[2]),
                  sigma_se=float(se[0]), kappa_se=float(se[1]), lambda_se=float(se[2]),
                  sigma_ci=ci[0], kappa_ci=ci[1], lambda_ci=ci[2], n_points=int(n.size), n_levels=int(levels),
                  residual_std_error_rps=math.sqrt(s2) if df > 0 else math.nan, interval=interval,
                  warnings=tuple(warnings), covariance=() if cov is None else tuple(map(tuple, cov.tolist())))
