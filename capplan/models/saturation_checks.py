"""Per-step checks behind a saturation estimate: model errors, Little's law, SLO caps.

- Model against measurement: the USL's X(N) and the queueing model's latency at each
  measured step, as relative errors (model − measured)/measured.
- Little's law per step (J. D. C. Little, 1961): in a closed test N = X·(R + Z); a ratio
  X·(R + Z)/N well under 1 means users spent time outside requests — the load generator
  was starved or was itself the bottleneck.
- Open-model runs: an achieved rate under the offered rate with few errors means the
  generator could not keep up; sends that start late hide queueing from the latency
  (coordinated omission, G. Tene, "How NOT to measure latency", 2013).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from capplan.models.queueing import QueueEstimate
from capplan.models.slo import Slo
from capplan.models.steps import Measurements
from capplan.models.usl import UslFit

DISAGREEMENT = 0.20
"""Model and measurement disagree when the relative error exceeds this."""
LITTLE_LOW, LITTLE_HIGH = 0.8, 1.2
GEN_CPU_LIMIT_PCT = 90.0

QueueModel = Callable[[float], QueueEstimate]


@dataclass(frozen=True)
class StepCheck:
    """One measured step against the models (rates in req/s, latencies in ms).

    ``latency_key`` names the statistic compared (``p95``, ``mean`` …); errors are
    (model − measured)/measured; ``little_ratio`` is X·(R + Z)/N (NaN when not applicable).
    """

    concurrency: float
    throughput_rps: float
    usl_throughput_rps: float
    usl_error: float
    latency_key: str
    latency_ms: float
    model_latency_ms: float
    latency_error: float
    little_concurrency: float
    little_ratio: float
    flags: tuple[str, ...]

    def to_dict(self) -> dict:
        """JSON-safe view (NaN → null)."""
        out = {}
        for name, value in self.__dict__.items():
            if isinstance(value, float):
                out[name] = value if math.isfinite(value) else None
            else:
                out[name] = list(value) if isinstance(value, tuple) else value
        return out


def latency_of(queue: QueueEstimate, key: str) -> float:
    """The queue's latency statistic ``key`` (``mean`` or ``pNN``) in milliseconds."""
    if key == "mean":
        return 1000.0 * queue.response_mean_s
    return 1000.0 * queue.response_time_quantile_s(float(key[1:]) / 100.0)


def check_steps(m: Measurements, usl: UslFit, queue: QueueModel, cap_rps: float, key: str) -> tuple[StepCheck, ...]:
    """Model-vs-measurement errors, Little's law and flags for every step.

    The queueing model is compared only below ``cap_rps`` (the target utilisation), where it
    is meant to be used; closed-loop steps near saturation cannot queue without bound.
    """
    n, x = np.asarray(m.concurrency, dtype=float), np.asarray(m.throughput_rps, dtype=float)
    measured, mean_ms = m.latency(key), m.latency("mean")
    checks = []
    for i in range(m.size):
        usl_x = float(usl.throughput_rps(n[i]))
        model = latency_of(queue(x[i]), key) if 0 < x[i] < cap_rps else math.nan
        little = x[i] * (mean_ms[i] / 1000.0 + m.think_time_s)
        ratio = little / n[i] if m.load_model != "open" and math.isfinite(little) else math.nan
        checks.append(StepCheck(
            concurrency=float(n[i]), throughput_rps=float(x[i]), usl_throughput_rps=usl_x,
            usl_error=_rel(usl_x, x[i]), latency_key=key, latency_ms=float(measured[i]),
            model_latency_ms=model, latency_error=_rel(model, measured[i]),
            little_concurrency=float(little), little_ratio=float(ratio), flags=_flags(m, i, ratio)))
    return tuple(checks)


def _flags(m: Measurements, i: int, little_ratio: float) -> tuple[str, ...]:
    flags = []
    n = float(m.concurrency[i])
    if little_ratio < LITTLE_LOW:
        flags.append(f"Little's law: X·(R+Z) = {little_ratio * n:.1f} of {n:g} users in requests "
                     "(generator starvation or client-side bottleneck)")
    elif little_ratio > LITTLE_HIGH:
        flags.append(f"Little's law: X·(R+Z) = {little_ratio * n:.1f} exceeds {n:g} users "
                     "(think time or latency mis-recorded)")
    gen_cpu = m.column("gen_cpu_pct")[i]
    if gen_cpu > GEN_CPU_LIMIT_PCT:
        flags.append(f"load generator CPU at {gen_cpu:.0f}% (client-side bottleneck)")
    flags += _open_model_flags(m, i)
    p99 = m.latency("p99")[i]
    if m.load_model == "closed" and m.think_time_s > 0 and p99 > 1000.0 * m.think_time_s:
        flags.append(f"p99 {p99:.0f} ms exceeds the {1000 * m.think_time_s:.0f} ms think time: users sent late "
                     "(coordinated omission, latency understated)")
    return tuple(flags)


def _open_model_flags(m: Measurements, i: int) -> list[str]:
    if m.load_model != "open":
        return []
    flags = []
    offered, achieved = m.column("offered_rps")[i], float(m.throughput_rps[i])
    errors = m.column("error_rate")[i]
    if offered > 0 and achieved < 0.9 * offered and not errors > 0.01:
        flags.append(f"achieved {achieved:.1f} of {offered:.1f} req/s offered with few errors "
                     "(generator starvation)")
    lag, mean = m.column("gen_lag_ms")[i], m.latency("mean")[i]
    if lag > max(10.0, 0.5 * mean if math.isfinite(mean) else 0.0):
        flags.append(f"sends started {lag:.0f} ms late on average (coordinated omission, latency understated)")
    return flags


def usl_disagreement(checks: tuple[StepCheck, ...]) -> StepCheck | None:
    """The step where the USL misses the measurement by the most, if by more than 20 %."""
    worst = max(checks, key=lambda c: abs(c.usl_error) if math.isfinite(c.usl_error) else -1.0)
    return worst if abs(worst.usl_error) > DISAGREEMENT else None


def latency_disagreement(checks: tuple[StepCheck, ...]) -> StepCheck | None:
    """The step where the queueing model misses the measured latency by the most, if > 20 %."""
    compared = [c for c in checks if math.isfinite(c.latency_error)]
    if not compared:
        return None
    worst = max(compared, key=lambda c: abs(c.latency_error))
    return worst if abs(worst.latency_error) > DISAGREEMENT else None


def model_slo_cap(slo: Slo, queue: QueueModel, cap_rps: float) -> tuple[float | None, str, str | None]:
    """Highest arrival rate ≤ ``cap_rps`` at which the queueing model meets ``slo``.

    Returns (rate or None when the model cannot judge this SLO, basis, warning or None).
    """
    from scipy.optimize import brentq

    if not slo.is_latency:
        return None, "", None
    if slo.metric == "max":
        return None, "", f"SLO {slo} cannot be predicted by a queueing model: checked against measured steps only"
    key = slo.metric if slo.metric == "mean" else f"p{slo.percentile:g}"
    gap = lambda rate: latency_of(queue(rate), key) - slo.threshold_ms
    if gap(cap_rps) <= 0:
        return cap_rps, "target utilisation", None
    floor_rate = cap_rps * 1e-6
    if gap(floor_rate) > 0:
        return 0.0, f"{slo} unreachable", (f"SLO {slo} cannot be met at any load: the service time alone gives "
                                           f"{key} {latency_of(queue(floor_rate), key):.1f} ms; relax the SLO "
                                           "or make the service faster")
    rate = float(brentq(gap, floor_rate, cap_rps, xtol=1e-9 * cap_rps))
    return rate, f"{slo} (queueing model)", None


def measured_slo_cap(slo: Slo, m: Measurements, evidence_only: bool = False) -> tuple[float | None, str, str | None]:
    """Highest measured throughput below the first step (by load) that broke ``slo``.

    With ``evidence_only`` the cap also applies when no step broke the SLO (the model was
    found optimistic, so only measured evidence is trusted).
    """
    values = m.column("error_rate") if not slo.is_latency else m.latency(_key(slo))
    if not np.any(np.isfinite(values)):
        return None, "", f"SLO {slo} was not measured per step: not checked against the measurements"
    order = np.argsort(np.asarray(m.concurrency, dtype=float), kind="stable")
    x = np.asarray(m.throughput_rps, dtype=float)[order]
    met = np.array([slo.is_met_by(v) if math.isfinite(v) else True for v in values[order]])
    broken = np.flatnonzero(~met)
    if broken.size == 0:
        return (float(np.max(x)), f"highest measured throughput meeting {slo}", None) if evidence_only else (
            None, "", None)
    first = int(broken[0])
    if first == 0:
        return 0.0, f"{slo} broken at the lowest load", (f"SLO {slo} was already broken at the lowest measured "
                                                          f"load ({x[0]:.1f} req/s); relax the SLO or fix the service")
    return float(np.max(x[:first])), f"{slo} broken at measured {x[first]:.1f} req/s", None


def _key(slo: Slo) -> str:
    return slo.metric if slo.percentile is None else f"p{slo.percentile:g}"


def _rel(model: float, measured: float) -> float:
    if not (math.isfinite(model) and math.isfinite(measured)) or measured == 0:
        return math.nan
    return float((model - measured) / measured)
