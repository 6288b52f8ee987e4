"""What one instance can take within its SLO: the saturation estimate from measured steps.

Pipeline (each number is defined in :class:`SaturationEstimate`):

1. USL fit of throughput against concurrency (:mod:`capplan.models.usl`).
2. Max sustainable throughput X_max: the measured plateau (mean of the steps within 5 % of
   the highest throughput, t-interval over those steps) when the test saturated the service
   and the USL agrees; otherwise the USL peak X(N*) with its delta-method interval.
3. Knee: the asymptote intersection N_knee = X_max·(R₀ + Z) of the operational bounds
   (Lazowska et al., *Quantitative System Performance*, 1984, §5.2: N* = (D + Z)/D_max),
   R₀ the low-load latency floor and Z the think time.
4. Queue: c = ⌊X_max·R₀⌋ effective servers with service time s = c/X_max, service-time
   CV from the low-load latency spread, Poisson arrivals (Allen–Cunneen G/G/c,
   :mod:`capplan.models.queueing`). When target CPU was recorded, the utilisation law
   D = U/X gives the CPU service demand as a cross-check.
5. Safe throughput: the highest arrival rate with utilisation ≤ target and, for each SLO, the
   model's percentile under its threshold; never above a rate at which a measured step
   already broke the SLO. Both are judged on the pessimistic queue, service time c/X_lo
   (X_lo the lower end of the max-throughput interval; the service time at most the
   latency floor R₀): near saturation latency is steep in the utilisation, and a max
   throughput read a few percent high would otherwise put the safe rate past the SLO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from capplan.errors import ConfigError, InputDataError
from capplan.models.queueing import QueueEstimate, ggc
from capplan.models.saturation_checks import (
    DISAGREEMENT,
    StepCheck,
    check_steps,
    latency_disagreement,
    measured_slo_cap,
    model_slo_cap,
)
from capplan.models.slo import Slo, parse_slo
from capplan.models.steps import Measurements
from capplan.models.usl import UslFit, UslModel, t_quantile

PLATEAU_FRACTION = 0.95
"""Steps within this fraction of the highest measured throughput form the plateau."""
SATURATED_EFFICIENCY = 0.7
"""The test saturated the service when X/(λ·N) at the highest load fell below this."""
MAX_SERVERS = 10_000


ERROR_RATE_CEILING = 0.05
"""Default highest error rate (fraction) at which a step still counts as capacity."""


@dataclass(frozen=True)
class SaturationEstimate:
    """Capacity numbers of one service instance, with the models behind them.

    Rates in req/s, times in ms. ``max_throughput_basis`` and ``safe_basis`` say which
    number was used and why; ``steps`` holds the per-step model-vs-measurement checks.
    """

    max_throughput_rps: float
    max_throughput_ci_rps: tuple[float, float]
    max_throughput_basis: str
    safe_throughput_rps: float
    safe_basis: str
    knee_concurrency: float
    usl: UslFit
    latency_floor_ms: float
    service_time_ms: float
    service_cv: float
    effective_servers: int
    service_demand_cpu_ms: float
    target_utilization: float
    load_model: str
    slos: tuple[str, ...]
    steps: tuple[StepCheck, ...]
    warnings: tuple[str, ...]
    slo_service_time_ms: float = math.nan
    plateau_rps: tuple[float, ...] = ()
    """The measured throughputs of the steps averaged into ``max_throughput_rps`` (empty unless
    its basis is the measured plateau)."""

    def slo_queue_at(self, arrival_rate_rps: float) -> QueueEstimate:
        """The conservative queue the SLOs were solved with (service time ``slo_service_time_ms``)."""
        service_ms = self.slo_service_time_ms if math.isfinite(self.slo_service_time_ms) else self.service_time_ms
        return ggc(self.effective_servers, arrival_rate_rps, service_ms / 1000.0,
                   arrival_cv=1.0, service_cv=self.service_cv)

    def queue_at(self, arrival_rate_rps: float) -> QueueEstimate:
        """The fitted G/G/c queue (Poisson arrivals, measured service CV) at a given arrival rate."""
        return ggc(self.effective_servers, arrival_rate_rps, self.service_time_ms / 1000.0,
                   arrival_cv=1.0, service_cv=self.service_cv)

    def to_dict(self) -> dict:
        """The PRODUCT.md JSON contract ``{"saturation": {...}}`` plus supporting detail."""
        usl = self.usl
        return {"saturation": {
            "max_throughput_rps": _num(self.max_throughput_rps),
            "max_throughput_ci_rps": [_num(v) for v in self.max_throughput_ci_rps],
            "max_throughput_basis": self.max_throughput_basis,
            "safe_throughput_rps": _num(self.safe_throughput_rps),
            "safe_basis": self.safe_basis,
            "knee_concurrency": _num(self.knee_concurrency),
            "target_utilization": self.target_utilization,
            "usl": {"sigma": usl.sigma, "kappa": usl.kappa, "lambda": usl.lambda_rps,
                    "peak_concurrency": _num(usl.peak_concurrency),
                    "peak_throughput_rps": _num(usl.peak_throughput_rps),
                    "amdahl_ceiling_rps": _num(usl.amdahl_ceiling_rps),
                    "sigma_ci": [_num(v) for v in usl.sigma_ci], "kappa_ci": [_num(v) for v in usl.kappa_ci],
                    "lambda_ci": [_num(v) for v in usl.lambda_ci],
                    "residual_std_error_rps": _num(usl.residual_std_error_rps), "points": usl.n_points},
            "queue": {"model": "G/G/c (Allen-Cunneen)", "servers": self.effective_servers,
                      "service_time_ms": _num(self.service_time_ms),
                      "slo_service_time_ms": _num(self.slo_service_time_ms), "service_cv": _num(self.service_cv),
                      "latency_floor_ms": _num(self.latency_floor_ms),
                      "service_demand_cpu_ms": _num(self.service_demand_cpu_ms)},
            "load_model": self.load_model,
            "slos": list(self.slos),
            "steps": [step.to_dict() for step in self.steps],
            "warnings": list(self.warnings)}}


def estimate_saturation(measurements: Measurements, slos: tuple[Slo | str, ...] | list[Slo | str] = (),
                        target_utilization: float = 0.8,
                        error_rate_max: float = ERROR_RATE_CEILING) -> SaturationEstimate:
    """Turn measured steps into max, safe throughput and knee (see the module docstring).

    ``slos`` are :class:`Slo` objects or expressions such as ``"p95<300ms"``;
    ``target_utilization`` is the utilisation cap (0–1] applied to the max throughput.
    Steps whose error rate is above ``error_rate_max`` are dropped, with a warning naming
    them: failures are not capacity (a refused connection answers fast).
    """
    slos = tuple(parse_slo(s) if isinstance(s, str) else s for s in slos)
    if not 0 < target_utilization <= 1:
        # A setting, not data: the same ConfigError (exit 2) as the flag and capplan.toml give.
        raise ConfigError(f"target utilisation must be in (0, 1], got {target_utilization}, "
                          "pass e.g. --target-utilization 0.8")
    steps, warnings = _usable_steps(measurements, error_rate_max)
    usl = UslModel().fit(steps.concurrency, steps.throughput_rps).fit_
    warnings += list(usl.warnings)
    floor_ms, service_cv = _latency_floor(steps)
    cycle_s = floor_ms / 1000.0 + steps.think_time_s
    max_rps, max_ci, basis, more = _max_throughput(steps, usl, cycle_s)
    warnings += more
    plateau = tuple(float(v) for v in np.asarray(steps.throughput_rps, float)[plateau_steps(steps, cycle_s)])
    servers = _effective_servers(max_rps * floor_ms / 1000.0)
    service_ms = 1000.0 * servers / max_rps
    queue = _Queue(servers, service_ms / 1000.0, service_cv)
    cap_rps = target_utilization * max_rps
    checks = check_steps(steps, usl, queue.model, cap_rps, _primary_key(slos, steps))
    off = latency_disagreement(checks)
    if off is not None:
        warnings.append(_latency_warning(off))
    optimistic = off is not None and off.latency_error < 0
    slo_queue = _Queue(servers, _slo_service_s(servers, max_ci[0], queue.service_s, floor_ms / 1000.0), service_cv)
    safe_cap_rps = target_utilization * servers / slo_queue.service_s  # the target utilisation of that queue
    safe_rps, safe_basis, more = _safe_throughput(steps, slos, slo_queue, safe_cap_rps, optimistic)
    warnings += more
    return SaturationEstimate(
        max_throughput_rps=max_rps, max_throughput_ci_rps=max_ci, max_throughput_basis=basis,
        safe_throughput_rps=safe_rps, safe_basis=safe_basis,
        knee_concurrency=max_rps * (floor_ms / 1000.0 + steps.think_time_s), usl=usl,
        latency_floor_ms=floor_ms, service_time_ms=service_ms, service_cv=service_cv,
        effective_servers=servers, service_demand_cpu_ms=_cpu_demand_ms(steps),
        target_utilization=target_utilization, load_model=steps.load_model,
        slos=tuple(s.text for s in slos), steps=checks, warnings=tuple(dict.fromkeys(warnings)),
        slo_service_time_ms=1000.0 * slo_queue.service_s,
        plateau_rps=plateau if basis == "measured plateau" else ())


@dataclass(frozen=True)
class _Queue:
    servers: int
    service_s: float
    service_cv: float

    def model(self, arrival_rate_rps: float) -> QueueEstimate:
        return ggc(self.servers, arrival_rate_rps, self.service_s, arrival_cv=1.0, service_cv=self.service_cv)


def _usable_steps(m: Measurements, error_rate_max: float = 0.05) -> tuple[Measurements, list[str]]:
    """Drop NaN rows and steps above the error ceiling (with warnings); reject negative or all-zero data."""
    n, x = np.asarray(m.concurrency, dtype=float), np.asarray(m.throughput_rps, dtype=float)
    if n.size == 0:
        raise InputDataError("no measured steps, 0 rows, run a stress test or pass a CSV with rows")
    bad = (n < 0) | (x < 0)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise InputDataError(f"negative concurrency or throughput in the measurements, row {i}: "
                             f"concurrency={n[i]:g}, throughput={x[i]:g}, fix or drop that row")
    keep = np.isfinite(n) & np.isfinite(x) & (n > 0)
    warnings = list(m.notes)
    if not np.all(keep):
        warnings.append(f"{int(np.sum(~keep))} step(s) without a usable concurrency or throughput were ignored")
    errors = np.asarray(m.column("error_rate"), dtype=float)
    failing = keep & np.isfinite(errors) & (errors > error_rate_max)
    if np.any(failing):
        rows = ", ".join(f"N={n[i]:g} ({errors[i]:.0%} errors)" for i in np.flatnonzero(failing)[:8])
        warnings.append(f"dropped {int(np.sum(failing))} step(s) above the {error_rate_max:.0%} error ceiling: "
                        f"{rows}; failures are not capacity")
        keep = keep & ~failing
        if not np.any(keep):
            raise InputDataError(f"every step's error rate is above the {error_rate_max:.0%} error ceiling, "
                                 f"{rows}, fix the target and measure again")
    if not np.any(x[keep] > 0):
        raise InputDataError("throughput is zero or missing at every step, "
                             f"{np.unique(x).tolist()[:5]}, check that the load test reached the target")
    return m.select(keep), warnings


def _latency_floor(m: Measurements) -> tuple[float, float]:
    """Mean latency (ms) and its CV at the lowest load level; N/X − Z when latency is missing."""
    n = np.asarray(m.concurrency, dtype=float)
    low = n <= np.min(n) * 1.0001
    mean = m.latency("mean")
    if not np.any(np.isfinite(mean[low])):
        mean = 1000.0 * (n / np.asarray(m.throughput_rps, dtype=float) - m.think_time_s)
    floor = float(np.nanmean(mean[low]))
    if not (floor > 0 and math.isfinite(floor)):
        raise InputDataError(f"cannot tell the low-load latency floor, got {floor} ms, "
                             "add a latency_ms column or a step at low load")
    std = m.column("latency_std_ms")[low]
    cv = float(np.nanmean(std) / floor) if np.any(np.isfinite(std)) else 1.0
    return floor, min(max(cv, 0.05), 3.0)


def _max_throughput(m: Measurements, usl: UslFit,
                    cycle_s: float) -> tuple[float, tuple[float, float], str, list[str]]:
    """The measured plateau when the test saturated the service or the USL misfits, else the USL peak.

    The plateau is the steps within 5 % of the highest throughput that are at or past the
    knee N = X·(R₀ + Z) (``cycle_s`` = R₀ + Z in seconds): a step below the knee is still
    on the rising line, and a closed-loop step there reads low.
    """
    n, x = np.asarray(m.concurrency, dtype=float), np.asarray(m.throughput_rps, dtype=float)
    top = plateau_steps(m, cycle_s)
    plateau = float(np.mean(x[top]))
    if top.sum() >= 2:
        half = float(t_quantile(0.975, int(top.sum()) - 1) * np.std(x[top], ddof=1) / math.sqrt(top.sum()))
    else:
        half = usl.residual_std_error_rps  # NaN (unknown) when the fit has no residual degrees of freedom
    measured = (plateau, (plateau - half, plateau + half), "measured plateau")
    error, at_n = _usl_worst_error(m, usl)
    efficiency = float(x[np.argmax(n)] / (usl.lambda_rps * np.max(n)))
    if error > DISAGREEMENT:
        return *measured, [f"USL fit and measurements disagree by {error:.0%} at N={at_n:g}: "
                           f"max_throughput_rps uses the measured plateau {plateau:.1f} req/s, not the USL peak "
                           f"{usl.peak_throughput_rps:.1f} req/s, because the measurements are what the service did"]
    if efficiency < SATURATED_EFFICIENCY or top.sum() >= 2:
        return *measured, []
    peak = usl.peak_throughput_rps
    if math.isfinite(peak) and peak <= 3.0 * np.max(x):
        return peak, usl.peak_throughput_ci_rps(), "USL peak (extrapolated)", [
            f"the test did not saturate the service (efficiency {efficiency:.0%} at N={np.max(n):g}): "
            f"max_throughput_rps is the USL extrapolation {peak:.1f} req/s; stress to higher load to confirm"]
    return float(np.max(x)), (float(np.max(x)), math.inf), "highest measured (lower bound)", [
        f"the test did not saturate the service (efficiency {efficiency:.0%} at N={np.max(n):g}) and the USL "
        f"peak is unbounded: max_throughput_rps {np.max(x):.1f} req/s is only a lower bound; stress further"]


def plateau_steps(m: Measurements, cycle_s: float) -> np.ndarray:
    """Mask of the plateau steps: within 5 % of the highest throughput and, where any is, at or
    past the knee N = X·``cycle_s`` (see :func:`_max_throughput`)."""
    n, x = np.asarray(m.concurrency, dtype=float), np.asarray(m.throughput_rps, dtype=float)
    top = x >= PLATEAU_FRACTION * np.max(x)
    if np.any(top & (n >= np.max(x) * cycle_s)):
        top &= n >= np.max(x) * cycle_s
    return top


def _usl_worst_error(m: Measurements, usl: UslFit) -> tuple[float, float]:
    """Largest |X_usl − X|/X over the steps, and the concurrency where it occurs."""
    n, x = np.asarray(m.concurrency, dtype=float), np.asarray(m.throughput_rps, dtype=float)
    ok = x > 0
    errors = np.abs(usl.throughput_rps(n[ok]) - x[ok]) / x[ok]
    i = int(np.argmax(errors))
    return float(errors[i]), float(n[ok][i])


def _latency_warning(off: StepCheck) -> str:
    """Which safe-throughput number is used when the queueing model misses the measurement."""
    where = (f"the queueing model gives {off.latency_key} {off.model_latency_ms:.1f} ms at "
             f"{off.throughput_rps:.1f} req/s where {off.latency_ms:.1f} ms was measured "
             f"({off.latency_error:+.0%})")
    if off.latency_error > 0:
        return (f"{where}: safe_throughput_rps keeps the model, which is conservative (a closed-loop test "
                "queues less than open traffic with random arrivals)")
    return (f"{where}: the model is optimistic here, so safe_throughput_rps is also capped at the highest "
            "measured throughput that met the SLO")


def _safe_throughput(m: Measurements, slos, queue: _Queue, cap_rps: float,
                     model_optimistic: bool) -> tuple[float, str, list[str]]:
    """min(target utilisation × X_max, each SLO's model cap, each SLO's measured cap)."""
    safe, basis, warnings = cap_rps, "target utilisation", []
    for slo in slos:
        caps = (model_slo_cap(slo, queue.model, cap_rps), measured_slo_cap(slo, m, model_optimistic))
        for rate, why, warning in caps:
            if warning:
                warnings.append(warning)
            if rate is not None and rate < safe:
                safe, basis = rate, why
    if not slos:
        warnings.append("no SLO given: safe_throughput_rps only applies the target utilisation; pass --slo")
    return safe, basis, warnings


def _slo_service_s(servers: int, max_lo_rps: float, service_s: float, floor_s: float) -> float:
    """Service time at the pessimistic end of the max-throughput interval, c/X_lo, between the
    point estimate and the latency floor (service cannot take longer than the whole low-load latency)."""
    if not (math.isfinite(max_lo_rps) and max_lo_rps > 0):
        return service_s
    return min(max(servers / max_lo_rps, service_s), max(floor_s, service_s))


def _effective_servers(busy: float) -> int:
    """c from X_max·R₀, rounded down (with 0.1 slack for noise): the client-side part of the
    latency floor inflates R₀, and fewer servers is the conservative side for the SLO."""
    return int(min(MAX_SERVERS, max(1, math.floor(busy + 0.1))))


def _cpu_demand_ms(m: Measurements) -> float:
    """Utilisation law D = U/X (ms of CPU per request), median over steps that recorded CPU."""
    cpu = m.column("target_cpu_pct")
    x = np.asarray(m.throughput_rps, dtype=float)
    ok = np.isfinite(cpu) & (x > 0)
    return float(np.median(10.0 * cpu[ok] / x[ok])) if np.any(ok) else math.nan


def _primary_key(slos, m: Measurements) -> str:
    """The latency statistic compared between model and measurement: the first measured latency SLO's."""
    for slo in slos:
        key = slo.metric if slo.percentile is None else f"p{slo.percentile:g}"
        if slo.is_latency and key != "max" and np.any(np.isfinite(m.latency(key))):
            return key
    return "mean"


def _num(value: float) -> float | None:
    """JSON-safe number: NaN and infinities become null."""
    return float(value) if value is not None and math.isfinite(value) else None
