"""Multi-server queues: Erlang C (M/M/c), M/M/1 and the Allen–Cunneen G/G/c approximation.

Notation: c servers, arrival rate λ (req/s), mean service time s = 1/μ (seconds), offered
load a = λ/μ (erlangs), utilisation ρ = a/c.

- Erlang B by the recursion B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)) — numerically stable
  for c up to 10⁴ and beyond (no factorials). Erlang C from it:
  C(c, a) = c·B / (c − a·(1 − B)) (Kleinrock, *Queueing Systems* vol. 1, 1975, §3.5).
  The recursion runs to k = c exactly; stopping one server short is a known published bug.
- M/M/c: Wq = C / (cμ − λ), Lq = λ·Wq = C·ρ/(1 − ρ), service level P(W ≤ t) = 1 − C·e^{−(cμ−λ)t}.
  The waiting time is an atom at 0 (probability 1 − C) plus, with probability C, an
  exponential of rate θ = cμ − λ; the response time T = W + S convolves it with the service
  time, and its percentiles are found by root finding on the CDF.
- G/G/c (Allen–Cunneen; A. O. Allen, *Probability, Statistics and Queueing Theory*, 2nd ed.
  1990, §6.4): Wq ≈ Wq(M/M/c)·(Ca² + Cs²)/2 with Ca, Cs the coefficients of variation of the
  inter-arrival and service times. For percentiles the conditional wait keeps its exponential
  shape with that mean, and service times are gamma with the measured Cs (exponential at Cs = 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from capplan.errors import ModelError

_MIN_SERVICE_CV = 0.05
"""Service-time CVs below this are treated as 0.05 (a gamma of shape 400, nearly constant)."""


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B blocking probability for ``servers`` servers and ``offered_load`` erlangs."""
    _check_servers(servers)
    if offered_load < 0 or not math.isfinite(offered_load):
        raise ModelError(f"Erlang B needs a finite non-negative offered load, got {offered_load}, "
                         "check the arrival rate and service time")
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: probability an arrival waits in M/M/c; 1.0 when the queue is unstable (a ≥ c)."""
    if offered_load >= servers:
        return 1.0
    b = erlang_b(servers, offered_load)
    return servers * b / (servers - offered_load * (1.0 - b))


@dataclass(frozen=True)
class QueueEstimate:
    """Steady-state figures of a c-server queue (times in seconds, rates in req/s).

    ``arrival_cv`` and ``service_cv`` are the coefficients of variation used (1, 1 for M/M/c).
    When ``utilization`` ≥ 1 the queue is unstable and waits are infinite.
    """

    servers: int
    arrival_rate_rps: float
    service_time_s: float
    utilization: float
    p_wait: float
    wait_mean_s: float
    queue_length: float
    response_mean_s: float
    arrival_cv: float = 1.0
    service_cv: float = 1.0

    @property
    def _wait_rate(self) -> float:
        """Rate of the conditional (exponential) wait, 1/s."""
        return self.p_wait / self.wait_mean_s if self.wait_mean_s > 0 else math.inf

    def service_level(self, t_s: float) -> float:
        """P(W ≤ t): probability the wait in queue is at most ``t_s`` seconds."""
        if self.utilization >= 1:
            return 0.0
        if t_s < 0:
            return 0.0
        return 1.0 - self.p_wait * math.exp(-self._wait_rate * t_s)

    def response_time_cdf(self, t_s: float) -> float:
        """P(T ≤ t) for the response time T = W + S (wait plus service), ``t_s`` in seconds."""
        if t_s <= 0 or self.utilization >= 1:
            return 0.0
        shape, rate = _service_gamma(self.service_time_s, self.service_cv)
        served = _gamma_cdf(t_s, shape, rate)
        if self.p_wait <= 0:
            return served
        conv = _exp_plus_gamma_cdf(t_s, self._wait_rate, shape, rate)
        return (1.0 - self.p_wait) * served + self.p_wait * conv

    def response_time_quantile_s(self, q: float) -> float:
        """The q-quantile (0 < q < 1) of the response time in seconds, by root finding on the CDF."""
        from scipy.optimize import brentq

        if not 0 < q < 1:
            raise ModelError(f"response-time quantile must be in (0, 1), got {q}, pass e.g. 0.95")
        if self.utilization >= 1:
            return math.inf
        hi = max(self.response_mean_s, self.service_time_s)
        while self.response_time_cdf(hi) < q:
            hi *= 2.0
        return float(brentq(lambda t: self.response_time_cdf(t) - q, 0.0, hi, xtol=1e-12, rtol=1e-10))


def mmc(servers: int, arrival_rate_rps: float, service_time_s: float) -> QueueEstimate:
    """M/M/c (Erlang C) figures for ``servers`` servers, Poisson arrivals, exponential service."""
    return ggc(servers, arrival_rate_rps, service_time_s, arrival_cv=1.0, service_cv=1.0)


def mm1(arrival_rate_rps: float, service_time_s: float) -> QueueEstimate:
    """M/M/1: the c = 1 case (P_wait = ρ, Wq = ρ·s/(1 − ρ), T exponential with rate μ − λ)."""
    return mmc(1, arrival_rate_rps, service_time_s)


def ggc(servers: int, arrival_rate_rps: float, service_time_s: float,
        arrival_cv: float = 1.0, service_cv: float = 1.0) -> QueueEstimate:
    """G/G/c by Allen–Cunneen: the M/M/c wait scaled by (Ca² + Cs²)/2 (exact for M/M/c)."""
    _check_servers(servers)
    if not (service_time_s > 0 and math.isfinite(service_time_s)) or arrival_rate_rps < 0:
        raise ModelError(f"queue model needs a positive service time and non-negative arrival rate, "
                         f"got s={service_time_s} s, λ={arrival_rate_rps}/s, check the measurements")
    offered = arrival_rate_rps * service_time_s
    rho = offered / servers
    if rho >= 1:
        return QueueEstimate(servers, arrival_rate_rps, service_time_s, rho, 1.0, math.inf, math.inf, math.inf,
                             arrival_cv, service_cv)
    c_wait = erlang_c(servers, offered)
    variability = (arrival_cv ** 2 + service_cv ** 2) / 2.0
    wait = c_wait * service_time_s / (servers * (1.0 - rho)) * variability
    return QueueEstimate(servers, arrival_rate_rps, service_time_s, rho, c_wait, wait,
                         arrival_rate_rps * wait, wait + service_time_s, arrival_cv, service_cv)


def _check_servers(servers: int) -> None:
    if int(servers) != servers or servers < 1:
        raise ModelError(f"queue model needs a whole number of servers >= 1, got {servers}, "
                         "round the effective server count")


def _service_gamma(mean_s: float, cv: float) -> tuple[float, float]:
    """Gamma (shape k, rate β) with the given mean and CV: k = 1/CV², β = k/mean."""
    shape = 1.0 / max(cv, _MIN_SERVICE_CV) ** 2
    return shape, shape / mean_s


def _gamma_cdf(t: float, shape: float, rate: float) -> float:
    if shape == 1.0:
        return -math.expm1(-rate * t)
    from scipy.special import gammainc

    return float(gammainc(shape, rate * t))


def _exp_plus_gamma_cdf(t: float, theta: float, shape: float, rate: float) -> float:
    """P(E + G ≤ t), E ~ Exp(θ), G ~ Gamma(k, β): F_G(t) − ∫₀ᵗ f_G(u)·e^{−θ(t−u)} du."""
    if math.isinf(theta):
        return _gamma_cdf(t, shape, rate)
    return _gamma_cdf(t, shape, rate) - _tail_integral(t, theta, shape, rate)


def _tail_integral(t: float, theta: float, shape: float, rate: float) -> float:
    """∫₀ᵗ f_G(u)·e^{−θ(t−u)} du in closed form when β ≠ θ allows it, else by quadrature."""
    gap = rate - theta
    if abs(gap) <= 1e-12 * rate:  # equal rates: e^{−θt}·β^k t^k / Γ(k+1)
        return math.exp(-theta * t + shape * math.log(rate * t) - math.lgamma(shape + 1.0))
    if gap > 0:  # e^{−θt}·(β/(β−θ))^k·F_Gamma(k, β−θ)(t)
        log_factor = -theta * t + shape * math.log(rate / gap)
        return math.exp(log_factor) * _gamma_cdf(t, shape, gap)
    if shape == 1.0:  # exponential service, θ > μ: μ·(e^{−μt} − e^{−θt})/(θ − μ)
        return rate * (math.exp(-rate * t) - math.exp(-theta * t)) / (theta - rate)
    from scipy.integrate import quad

    log_norm = shape * math.log(rate) - math.lgamma(shape)  # gamma density, written out to spare scipy.stats
    value, _ = quad(lambda u: math.exp(log_norm + (shape - 1.0) * math.log(u) - rate * u - theta * (t - u))
                    if u > 0 else 0.0, 0.0, t, limit=200)
    return value
