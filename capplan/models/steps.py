"""Per-load-level measurements, the input of the saturation estimator (pure data, no I/O).

One entry per load level in steady state, possibly from several runs of the same service.
Arrays are aligned: index i is one step. Missing values are NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

LATENCY_KEYS = ("p50", "p90", "p95", "p99", "p99.9", "max", "mean")
"""Latency statistics a step may carry, in milliseconds."""


@dataclass(frozen=True, eq=False)
class Measurements:
    """Steady-state measurements per load level.

    ``concurrency`` is N for the USL: users in a closed-model run, X·R (Little's law) in an
    open-model run. ``latency_ms`` maps ``p50``, ``p95``, ``p99.9``, ``max``, ``mean`` … to
    arrays in milliseconds; ``think_time_s`` is the mean pause between a user's requests.
    ``load_model`` is ``closed``, ``open`` or ``unknown`` (a CSV from another tool);
    ``slo_texts`` are the SLOs the runs were recorded with (used when none are given).
    """

    concurrency: np.ndarray
    throughput_rps: np.ndarray
    latency_ms: Mapping[str, np.ndarray] = field(default_factory=dict)
    latency_std_ms: np.ndarray | None = None
    error_rate: np.ndarray | None = None
    offered_rps: np.ndarray | None = None
    gen_cpu_pct: np.ndarray | None = None
    target_cpu_pct: np.ndarray | None = None
    gen_lag_ms: np.ndarray | None = None
    source: tuple[str, ...] = ()
    load_model: str = "closed"
    think_time_s: float = 0.0
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    slo_texts: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """Number of steps."""
        return int(np.asarray(self.concurrency).size)

    def column(self, name: str) -> np.ndarray:
        """An optional per-step column as a float array (all NaN when it was not recorded)."""
        value = getattr(self, name)
        if value is None:
            return np.full(self.size, np.nan)
        return np.asarray(value, dtype=float)

    def latency(self, key: str) -> np.ndarray:
        """Latency statistic ``key`` (``p95``, ``mean`` …) in ms per step; NaN when not recorded."""
        if key in self.latency_ms:
            return np.asarray(self.latency_ms[key], dtype=float)
        if key.startswith("p"):
            for have, values in self.latency_ms.items():
                if have.startswith("p") and _same_number(have[1:], key[1:]):
                    return np.asarray(values, dtype=float)
        return np.full(self.size, np.nan)

    def select(self, keep: np.ndarray) -> Measurements:
        """The subset of steps where boolean mask ``keep`` is true."""
        def pick(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else np.asarray(values)[keep]

        return Measurements(
            concurrency=np.asarray(self.concurrency, dtype=float)[keep],
            throughput_rps=np.asarray(self.throughput_rps, dtype=float)[keep],
            latency_ms={k: np.asarray(v, dtype=float)[keep] for k, v in self.latency_ms.items()},
            latency_std_ms=pick(self.latency_std_ms), error_rate=pick(self.error_rate),
            offered_rps=pick(self.offered_rps), gen_cpu_pct=pick(self.gen_cpu_pct),
            target_cpu_pct=pick(self.target_cpu_pct), gen_lag_ms=pick(self.gen_lag_ms),
            source=tuple(np.asarray(self.source, dtype=object)[keep]) if self.source else (),
            load_model=self.load_model, think_time_s=self.think_time_s, sources=self.sources, notes=self.notes,
            slo_texts=self.slo_texts)


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False
