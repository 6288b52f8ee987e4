"""The default forecast on histories with faults in them: outages, launches, spikes, drops, gaps.

Run: ``.venv/bin/python benchmarks/bench_forecast_faults.py [CASE ...]`` (about 2 minutes for all).
Every series is synthetic and seeded: 800 days of a weekly pattern (mean 1000, ±200, noise 30)
with one fault each. capplan's default (``auto``) forecasts 14, 90 and 365 days ahead; printed per
case: the chosen model, the point forecast's least and greatest value and the P90's greatest value,
each as a multiple of the history's peak, and the number of warnings. A P90 many times the history's
peak, or a point forecast near zero after a short outage, is a plan that orders far too much or
nothing. The baseline is the same series without its fault (``clean``).
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capplan.models.forecast import DemandForecaster, ForecastSettings  # noqa: E402
from capplan.store.history import history_from_series  # noqa: E402

DAYS = 800
HORIZONS_DAYS = (14, 90, 365)


def cases() -> dict[str, np.ndarray]:
    """Fault name → daily values."""
    rng = np.random.default_rng(1)
    t = np.arange(DAYS)
    base = 1000 + 200 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 30, DAYS)

    def fault(days: slice, value: float | None = None, factor: float = 1.0) -> np.ndarray:
        values = base.copy()
        values[days] = value if value is not None else values[days] * factor
        return values

    return {
        "clean": base.copy(),
        "spike x50 one day": fault(slice(400, 401), 50_000.0),
        "level halved last 60 days": fault(slice(DAYS - 60, DAYS), factor=0.5),
        "outage 30 days at zero mid-history": fault(slice(500, 530), 0.0),
        "outage last 5 days at zero": fault(slice(DAYS - 5, DAYS), 0.0),
        "drop to 1 % for 30 days mid-history": fault(slice(500, 530), 10.0),
        "drop to 1 % last 5 days": fault(slice(DAYS - 5, DAYS), 10.0),
        "closed every 7th day": fault(slice(0, DAYS, 7), 0.0),
        "launch after 300 days of zeros": fault(slice(0, 300), 0.0),
        "every tenth day missing": fault(slice(0, DAYS - 1, 10), np.nan),
        "growth x2.7 a year": base * np.exp(t / 365),
    }


def main(selected: list[str]) -> int:
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    chosen = {name: values for name, values in cases().items() if not selected or name in selected}
    print(f"bench_forecast_faults: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {DAYS} days each")
    print(f"{'case':38s} {'h':>4s} {'model':22s} {'yhat min':>8s} {'yhat max':>8s} {'P90 max':>8s} warnings"
          "  (multiples of the history's peak)")
    for name, values in chosen.items():
        daily = pd.Series(values, index=pd.date_range("2024-01-01", periods=DAYS))
        peak = float(np.nanmax(values))
        for horizon in HORIZONS_DAYS:
            history = history_from_series(daily, name="fault", unit="rps")  # as the CLI reads a file
            forecast = DemandForecaster(ForecastSettings(horizon_days=horizon)).fit(history).predict(horizon)
            frame = forecast.frame
            print(f"{name:38s} {horizon:4d} {forecast.model:22s} {frame.yhat.min() / peak:8.3f} "
                  f"{frame.yhat.max() / peak:8.3f} {frame.yhat_p90.max() / peak:8.3f} {len(forecast.warnings):8d}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
