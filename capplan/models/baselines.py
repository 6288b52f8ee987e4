"""Baseline forecasters the growth model must beat: seasonal naive, linear trend, Holt-Winters.

Each takes a gap-free daily training array and a horizon in days and returns the point
forecast as a float array of that length (the planning series' unit). Formulas follow
Hyndman & Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed.), §5.2 (simple
methods) and §8.3 (Holt-Winters' additive method with damped trend).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

WEEK_DAYS = 7
HW_TRAIN_DAYS = 730
"""Holt-Winters fits on at most the last two years: older data barely moves its states."""


def seasonal_naive(train: np.ndarray, horizon_days: int, season_days: int = WEEK_DAYS) -> np.ndarray:
    """ŷ(T+h) = y(T + h − m·(⌊(h−1)/m⌋ + 1)): repeat the last full season (FPP3 §5.2)."""
    train = np.asarray(train, dtype=float)
    if len(train) < season_days:
        return np.full(horizon_days, train[-1])
    last = train[-season_days:]
    return np.resize(last, horizon_days).astype(float)


def linear_trend(train: np.ndarray, horizon_days: int) -> np.ndarray:
    """Ordinary least squares line through the whole training window, extended ahead."""
    train = np.asarray(train, dtype=float)
    t = np.arange(len(train), dtype=float)
    slope, intercept = np.polyfit(t, train, 1)
    future = np.arange(len(train), len(train) + horizon_days, dtype=float)
    return intercept + slope * future


def holt_winters(train: np.ndarray, horizon_days: int, season_days: int = WEEK_DAYS) -> np.ndarray:
    """Additive damped Holt-Winters, smoothing parameters by least squares of one-step errors.

    ℓ_t = α(y_t − s_{t−m}) + (1−α)(ℓ_{t−1} + φb_{t−1}); b_t = β(ℓ_t − ℓ_{t−1}) + (1−β)φb_{t−1};
    s_t = γ(y_t − ℓ_{t−1} − φb_{t−1}) + (1−γ)s_{t−m};  ŷ_{T+h} = ℓ_T + (φ+…+φ^h)b_T + s_{T+h−m(k+1)}.
    """
    y = np.asarray(train, dtype=float)[-HW_TRAIN_DAYS:]
    if len(y) < 2 * season_days + 2:
        return seasonal_naive(y, horizon_days, season_days)
    scale = float(np.mean(np.abs(y))) or 1.0
    y = y / scale
    start = np.array([0.3, 0.05, 0.1, 0.95])
    bounds = [(1e-3, 0.999), (1e-4, 0.5), (1e-3, 0.999), (0.8, 0.995)]
    result = minimize(lambda p: _hw_sse(y, p, season_days), start, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 60})
    level, trend, season = _hw_states(y, result.x, season_days)[:3]
    phi = result.x[3]
    steps = np.arange(1, horizon_days + 1)
    damped = np.cumsum(phi ** steps)
    seasonal = season[(len(y) + steps - 1) % season_days]
    return (level + damped * trend + seasonal) * scale


def _hw_init(y: np.ndarray, m: int) -> tuple[float, float, np.ndarray]:
    level = float(np.mean(y[:m]))
    trend = float((np.mean(y[m:2 * m]) - level) / m)
    season = np.empty(m)
    season[:] = y[:m] - level
    return level, trend, season


def _hw_states(y: np.ndarray, params: np.ndarray, m: int) -> tuple[float, float, np.ndarray, float]:
    alpha, beta, gamma, phi = (float(v) for v in params)
    level, trend, first = _hw_init(y, m)
    season = np.empty(len(y) + m)
    season[:m] = first
    sse = 0.0
    for t in range(len(y)):
        s_prev = season[t]
        fitted = level + phi * trend + s_prev
        error = y[t] - fitted
        sse += error * error
        season[t + m] = gamma * (y[t] - level - phi * trend) + (1 - gamma) * s_prev
        new_level = alpha * (y[t] - s_prev) + (1 - alpha) * (level + phi * trend)
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        level = new_level
    # season[t + m] holds the index for day t (mod m) of the next cycle; re-key by day-of-cycle.
    by_phase = np.empty(m)
    for phase in range(m):
        by_phase[phase] = season[len(y) + ((phase - len(y)) % m)]
    return level, trend, by_phase, sse


def _hw_sse(y: np.ndarray, params: np.ndarray, m: int) -> float:
    return _hw_states(y, params, m)[3]


def seasonal_naive_scale(train: np.ndarray, season_days: int = WEEK_DAYS) -> float:
    """MASE denominator: mean |y_t − y_{t−m}| over the training window (Hyndman & Koehler 2006)."""
    train = np.asarray(train, dtype=float)
    if len(train) <= season_days:
        return float(np.mean(np.abs(np.diff(train)))) if len(train) > 1 else 1.0
    return float(np.mean(np.abs(train[season_days:] - train[:-season_days])))


BASELINES = {"seasonal_naive": seasonal_naive, "linear_trend": linear_trend, "holt_winters": holt_winters}
"""Baseline name → forecast function (train, horizon_days) → point forecast."""
